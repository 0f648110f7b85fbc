#!/usr/bin/env bash
# Proves that a change alters no convolution result: builds BASE (default: the commit before the
# convolution-planner refactor) and the work tree in release mode, runs `fovea-bench results` with
# each (every suite layer, reduced and full size, every pass, dispatch and openblas with the default
# and a 4 KiB workspace, 1 and 2 threads), and compares the fingerprints line by line.
#
#   Scripts/compare-convolution-results.sh [BASE] [--reduced-only]
#
# Exit status 0 when every fingerprint matches, 1 (listing the differing cases) otherwise.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${1:-7e5e5dfcbb2c}
shift || true
flags=("$@")
work=$(mktemp -d /tmp/fovea-results.XXXXXX)
trap 'git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null
echo "building $base …" >&2
(cd "$work/base" && swift build -c release --product fovea-bench >/dev/null)
echo "building the work tree …" >&2
(cd "$root" && swift build -c release --product fovea-bench >/dev/null)

(cd "$work/base" && .build/release/fovea-bench results "${flags[@]}" --output "$work/before.txt")
(cd "$root" && .build/release/fovea-bench results "${flags[@]}" --output "$work/after.txt")

cases=$(wc -l < "$work/before.txt")
if diff "$work/before.txt" "$work/after.txt" > "$work/diff.txt"; then
    echo "all $cases convolution results bit-identical to $base"
else
    echo "results that differ from $base (< before, > after):"
    cat "$work/diff.txt"
    exit 1
fi
