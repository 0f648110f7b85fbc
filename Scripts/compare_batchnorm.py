#!/usr/bin/env python3
"""Times batch norm in training mode with two builds of `fovea-bench` in one session, run by run
interleaved, and prints each build's median and the ratio per shape, operation and thread count
(Docs/Performance.md, "Batch norm in training (issue 19)").

    Scripts/compare_batchnorm.py BEFORE AFTER [--rounds 5] [-- fovea-bench batchnorm options]

BEFORE and AFTER are `fovea-bench` binaries that both have the `batchnorm` subcommand (build the
older one from its commit in a scratch copy of the tree). Each round runs BEFORE, then AFTER,
with the same options (default `--threads 1,2 --runs 5`); a build's time for a row is the median
of its per-round medians. The ratio is before / after (above 1: the after build is faster).
"""
import argparse
import re
import statistics
import subprocess
import sys


def run(binary, options):
    """{(shape, operation, threads): ms} from one `fovea-bench batchnorm` table."""
    text = subprocess.run([binary, "batchnorm", *options], check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in text.splitlines():
        # shape, operation, engine, threads, ms, spread
        match = re.match(r"(\d+x\d+x\d+x\d+)\s+(.+?)\s+(\S+)\s+(\d+)\s+([\d.]+)\s", line)
        if match:
            rows[(match[1], match[2], match[3], int(match[4]))] = float(match[5])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--rounds", type=int, default=5)
    own, options = (sys.argv[1:sys.argv.index("--")], sys.argv[sys.argv.index("--") + 1:]) if "--" in sys.argv else (sys.argv[1:], [])
    arguments = parser.parse_args(own)
    options = options or ["--threads", "1,2", "--runs", "5"]
    times = {"before": {}, "after": {}}
    for _ in range(arguments.rounds):
        for name in ("before", "after"):
            for key, ms in run(getattr(arguments, name), options).items():
                times[name].setdefault(key, []).append(ms)
    print(f"median of {arguments.rounds} rounds (each the median of one fovea-bench batchnorm run), before and after interleaved")
    print(f"{'shape':14} {'operation':18} {'engine':10} {'threads':>7} {'before ms':>10} {'after ms':>9} {'ratio':>6}")
    for key in times["before"]:
        if key not in times["after"]:
            continue
        before, after = statistics.median(times["before"][key]), statistics.median(times["after"][key])
        print(f"{key[0]:14} {key[1]:18} {key[2]:10} {key[3]:>7} {before:>10.2f} {after:>9.2f} {before / after:>5.1f}×")


if __name__ == "__main__":
    main()
