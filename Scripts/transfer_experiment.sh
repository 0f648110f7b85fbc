#!/usr/bin/env bash
# The transfer-learning experiment of Docs/TransferLearning.md: pre-train the small ResNet on
# Fashion-MNIST classes 0–4, then learn classes 5–9 from only 100 labelled images per class
#   (a) from scratch,
#   (b) from the pre-trained backbone, frozen, with a new head,
#   (c) from the pre-trained backbone, fine-tuned at a tenth of the head's learning rate.
# Prints each run's last line (test accuracy on all 5,000 test images of classes 5–9).
# Usage: Scripts/transfer_experiment.sh [output folder]   (FOVEA_DEVICE/FOVEA_THREADS as usual)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-.build-transfer}
mkdir -p "$OUT"
swift build -c release --product fovea >&2
FOVEA=.build/release/fovea
run() { echo "\$ fovea $*"; "$FOVEA" "$@" 2>/dev/null | tail -2; }
run train --model resnet-small --classes 0-4 --epochs 3 --seed 1 --out "$OUT/pretrained.safetensors"
COMMON=(--model resnet-small --classes 5-9 --per-class 100 --batch-size 50 --epochs 20 --seed 2)
run train "${COMMON[@]}" --out "$OUT/scratch.safetensors"
run train "${COMMON[@]}" --from "$OUT/pretrained.safetensors" --freeze backbone --out "$OUT/frozen.safetensors"
run train "${COMMON[@]}" --from "$OUT/pretrained.safetensors" --backbone-lr-scale 0.1 --out "$OUT/finetuned.safetensors"
