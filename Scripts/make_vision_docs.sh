#!/usr/bin/env bash
# Makes the pictures of Docs/SeeingConvolutions.md (into Docs/images/seeing/) with the release
# `fovea`, from Debian's python3-skimage photos and a trained cnn-bn checkpoint:
#     Scripts/make_vision_docs.sh [weights.safetensors]      (default /work/runs/cnn-bn-cos.safetensors)
# Prints every command and its output; the document quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
PHOTOS=${FOVEA_SKIMAGE_DATA:-/usr/lib/python3/dist-packages/skimage/data}
WEIGHTS=${1:-/work/runs/cnn-bn-cos.safetensors}
OUT=Docs/images/seeing
mkdir -p "$OUT"
swift build -c release --product fovea >/dev/null
fovea() { echo "\$ fovea $*" | sed "s#$PHOTOS#\$PHOTOS#g"; .build/release/fovea "$@" | sed "s#$PHOTOS#\$PHOTOS#g"; echo; }

# The table: every classic kernel on the camera man, 256 pixels wide, without padding.
for kernel in identity edge-detection laplacian outline sharpen box-blur gaussian-blur gaussian-blur-5 sobel-x sobel-y; do
    fovea filter --kernel "$kernel" --resize 256 --padding valid "$PHOTOS/camera.png" "$OUT/camera-$kernel.png"
done
fovea filter --kernel-file Docs/kernels/emboss.txt --resize 256 --padding valid "$PHOTOS/camera.png" "$OUT/camera-emboss.png"

# Colour: each channel filtered on its own.
fovea filter --kernel sharpen --resize 256 --padding valid "$PHOTOS/coffee.png" "$OUT/coffee-sharpen.png"
fovea filter --kernel outline --mapping clamp --resize 256 --padding valid "$PHOTOS/coffee.png" "$OUT/coffee-outline.png"

# Output sizes: zero padding, stride, dilation, pooling.
fovea filter --kernel sobel-y --resize 256 "$PHOTOS/camera.png" "$OUT/camera-sobel-y-same.png"
fovea filter --kernel gaussian:9:3 --resize 256 --stride 2 --padding 4 "$PHOTOS/camera.png" "$OUT/camera-gaussian-stride2.png"
fovea filter --kernel laplacian --resize 256 --padding valid --dilation 4 "$PHOTOS/camera.png" "$OUT/camera-laplacian-dilation4.png"
fovea filter --kernel outline --resize 256 --padding valid --pool max --pool-size 4 "$PHOTOS/camera.png" "$OUT/camera-outline-maxpool4.png"

# What the trained Fashion-MNIST network sees.
fovea features --weights "$WEIGHTS" --layer relu1 --save-input "$OUT/fashion-input.png" test:0 "$OUT/fashion-relu1.png"
fovea features --weights "$WEIGHTS" --layer pool2 test:0 "$OUT/fashion-pool2.png"
fovea kernels --weights "$WEIGHTS" --layer conv1 "$OUT/fashion-conv1-filters.png"
du -ch "$OUT"/*.png | tail -1
