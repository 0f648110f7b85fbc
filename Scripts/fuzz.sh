#!/usr/bin/env bash
# Fuzzes Fovea's file readers with libFuzzer for a bounded time per target.
#
#   Scripts/fuzz.sh [seconds-per-target] [target…]      default: 300 seconds, all three targets
#
# Builds the package in Tests/Fuzz with the fuzzer and address sanitizers (Swift code, and the
# stb_image copy compiled into FuzzImage), then runs each target starting from its committed
# seed corpus (Tests/Fuzz/Seeds/<format>, made by Scripts/make_fuzz_seeds.py). New inputs go to
# Tests/Fuzz/Corpus/<target>, any crash, timeout or out-of-memory input to
# Tests/Fuzz/Findings/<target>, logs to Tests/Fuzz/Logs (all git-ignored). Prints executions and
# findings per target; exits 1 if anything was found. Replay one input with
#   Tests/Fuzz/.build/release/<target> <file>
set -euo pipefail
cd "$(dirname "$0")/../Tests/Fuzz"

seconds="${1:-300}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzSafeTensors FuzzIDX FuzzImage)
configuration="${FUZZ_CONFIGURATION:-release}"

seed_folder() {
    case "$1" in
        FuzzSafeTensors) echo Seeds/safetensors ;;
        FuzzIDX) echo Seeds/idx ;;
        FuzzImage) echo Seeds/image ;;
        *) echo "unknown fuzz target '$1' (FuzzSafeTensors, FuzzIDX, FuzzImage)" >&2; exit 2 ;;
    esac
}

echo "building fuzz targets ($configuration, -sanitize=fuzzer,address)…"
swift build -c "$configuration" \
    -Xswiftc -sanitize=fuzzer,address \
    -Xcc -fsanitize=fuzzer-no-link,address 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol" || true
binaries="$(swift build -c "$configuration" --show-bin-path)"
for target in "${targets[@]}"; do
    [ -x "$binaries/$target" ] || { echo "build failed: $binaries/$target is missing" >&2; exit 1; }
done

mkdir -p Logs
summary="Logs/summary.txt"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse HEAD)$(git diff --quiet HEAD -- ../.. || echo ' (with uncommitted changes)')"
    echo "seconds per target: $seconds"
    printf '%-16s %12s %10s %8s %8s\n' target executions exec/s corpus findings
} > "$summary"

found=0
for target in "${targets[@]}"; do
    seeds="$(seed_folder "$target")"
    mkdir -p "Corpus/$target" "Findings/$target"
    log="Logs/$target.log"
    echo "fuzzing $target for $seconds s (log: Tests/Fuzz/$log)…"
    # -rss_limit_mb: any input needing more than 2 GiB is a finding; -timeout: so is one taking > 10 s.
    # Leak checking is off here; Scripts/sanitize.sh checks leaks over the whole test suite.
    "$binaries/$target" "Corpus/$target" "$seeds" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 \
        -artifact_prefix="Findings/$target/" -print_final_stats=1 > "$log" 2>&1 || true
    executions="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
    corpus="$(find "Corpus/$target" -type f | wc -l)"
    findings="$(find "Findings/$target" -type f | wc -l)"
    found=$((found + findings))
    printf '%-16s %12s %10s %8s %8s\n' "$target" "$executions" "$rate" "$corpus" "$findings" >> "$summary"
done

echo
cat "$summary"
if [ "$found" -gt 0 ]; then
    echo "findings saved in Tests/Fuzz/Findings/; see the logs for the stack traces" >&2
    exit 1
fi
