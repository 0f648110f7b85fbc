#!/usr/bin/env bash
# Installs the Debian packages Fovea needs to build, test and benchmark:
#   libopenblas-dev, liblapacke-dev  cblas and LAPACKE (the COpenBLAS module)
#   pkg-config                       lets SwiftPM find the headers
#   zlib1g-dev                       gzip decompression (IDX files)
#   libstb-dev                       PNG/JPEG decoding and PNG writing (stb_image)
#   dataset-fashion-mnist            Fashion-MNIST under /usr/share/datasets/fashion-mnist
#   python3-skimage                  its sample photos (camera.png, astronaut.png, …), which the
#                                    image-filter tests and Docs/SeeingConvolutions.md use
#   libopenmpi-dev, openmpi-bin      Open MPI (the CMPI module, pkg-config ompi-c, and mpirun) for
#                                    FoveaDistributed and `fovea train --distributed`
# Run as root or with sudo available. Safe to run again.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
PACKAGES=(libopenblas-dev liblapacke-dev pkg-config zlib1g-dev libstb-dev dataset-fashion-mnist python3-skimage libopenmpi-dev openmpi-bin)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}"
fi
