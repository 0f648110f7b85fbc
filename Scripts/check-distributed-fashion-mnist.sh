#!/usr/bin/env bash
# Issue 20's end-to-end check: cnn-bn on Fashion-MNIST for 3 epochs, on 1 process with batch 64
# and on 2 MPI processes with 32 each (the same global batch; synchronized batch norm), from the
# same seed. The final test accuracies must agree within 0.3 points. Prints both runs' epoch lines
# and the difference; exits non-zero when they disagree or a run fails.
#
# Usage: Scripts/check-distributed-fashion-mnist.sh [output folder]   (release build; ~6–8 min on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/fovea-ddp-fashion.XXXXXX")}"
mkdir -p "$out"
cd "$root"
swift build -c release --product fovea >/dev/null
fovea="$root/.build/release/fovea"
common=(train --model cnn-bn --epochs 3 --seed 1)

"$fovea" "${common[@]}" --batch-size 64 --threads 2 --out "$out/one.safetensors" | grep -v ETA > "$out/one.log"
mpirun --allow-run-as-root --oversubscribe -np 2 -x FOVEA_THREADS=1 \
    "$fovea" "${common[@]}" --distributed --sync-batch-norm --batch-size 32 --out "$out/two.safetensors" | grep -v ETA > "$out/two.log"

accuracy() { grep '^epoch 3/3:' "$1" | sed -E 's/.*test accuracy ([0-9.]+)%.*/\1/'; }
one="$(accuracy "$out/one.log")"
two="$(accuracy "$out/two.log")"
echo "1 process, batch 64:"; grep '^epoch' "$out/one.log"
echo "2 processes, 32 each, synchronized batch norm:"; grep '^epoch' "$out/two.log"
python3 - "$one" "$two" <<'PY'
import sys
one, two = map(float, sys.argv[1:])
print(f"test accuracy after 3 epochs: 1 process {one:.2f}%, 2 processes {two:.2f}%, difference {two - one:+.2f} points (limit ±0.3)")
sys.exit(0 if abs(two - one) <= 0.3 else 1)
PY
