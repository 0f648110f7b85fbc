#!/usr/bin/env bash
# Creates (once) a Python virtual environment with PyTorch, torchvision, safetensors and Pillow
# from PyPI in .venv-torch/ (ignored by git) and prints its python's path. PyPI's torch is the CUDA
# build (several GB); it runs on the CPU here.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${FOVEA_TORCH_VENV:-.venv-torch}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q torch torchvision safetensors pillow numpy >&2
fi
echo "$VENV/bin/python"
