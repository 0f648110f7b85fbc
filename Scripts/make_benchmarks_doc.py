#!/usr/bin/env python3
"""Writes the measured sections of Docs/Benchmarks.md from fovea-bench and pytorch_bench.py JSON
reports (one run on one machine):

    Scripts/make_benchmarks_doc.py fovea-layers.json pytorch-layers.json fovea-nets.json pytorch-nets.json > Docs/Benchmarks-results.md
"""
import json
import math
import sys
from collections import defaultdict


def geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def main(paths):
    reports = [json.load(open(p)) for p in paths]
    layers = [r for report in reports for r in report["layers"]]
    nets = [r for report in reports for r in report["networks"]]
    machine = reports[0]["machine"]
    out = []
    out.append(f"Machine: {machine['cpu']}, {machine['cores']} cores; FMA peak {machine['peakPerCore']:.1f} GFLOP/s per core, "
               f"{machine['peakAllCores']:.1f} on {max(machine['threads'])}; {machine['openBLAS']} (core {machine['openBLASCore']}); "
               f"measured {machine['date'][:10]}.\n")

    by = defaultdict(dict)  # (layer, pass, batch, threads) -> engine -> gflops
    for r in layers:
        by[(r["layer"], r["pass"], r["batch"], r["threads"])][r["engine"]] = r["gflops"]
    engines = ["openblas", "dispatch", "sgemm", "pytorch", "onnxruntime"]

    out.append("### Geometric mean over the layer suite (GFLOP/s) and ratios\n")
    out.append("| pass | batch | threads | openblas | dispatch | sgemm alone | PyTorch | ONNX Runtime | best Fovea / PyTorch | best Fovea / ORT | dispatch / openblas |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    groups = sorted({(k[1], k[2], k[3]) for k in by}, key=lambda g: (["forward", "backward-data", "backward-filter"].index(g[0]), g[1], g[2]))
    for pass_, batch, threads in groups:
        keys = [k for k in by if k[1:] == (pass_, batch, threads)]
        means = {e: geomean([by[k].get(e, 0) for k in keys if e in by[k]]) for e in engines}
        best = [max(by[k].get("openblas", 0), by[k].get("dispatch", 0)) for k in keys]
        def ratio(other):
            pairs = [(b, by[k][other]) for b, k in zip(best, keys) if other in by[k]]
            return geomean([b / o for b, o in pairs]) if pairs else float("nan")
        dr = geomean([by[k]["dispatch"] / by[k]["openblas"] for k in keys if "dispatch" in by[k] and "openblas" in by[k]])
        cells = [f"{means[e]:.1f}" if not math.isnan(means[e]) else "–" for e in engines]
        r1, r2 = ratio("pytorch"), ratio("onnxruntime")
        out.append(f"| {pass_} | {batch} | {threads} | " + " | ".join(cells) +
                   f" | {r1:.2f}× | " + (f"{r2:.2f}×" if not math.isnan(r2) else "–") + f" | {dr:.2f}× |")
    out.append("")

    for batch in sorted({k[2] for k in by}):
        threads = max(k[3] for k in by)
        out.append(f"### Forward, batch {batch}, {threads} threads (GFLOP/s)\n")
        out.append("| layer | openblas | dispatch | sgemm alone | PyTorch | ONNX Runtime |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for k in sorted(k for k in by if k[1] == "forward" and k[2] == batch and k[3] == threads):
            out.append(f"| {k[0]} | " + " | ".join(f"{by[k][e]:.1f}" if e in by[k] else "–" for e in engines) + " |")
        out.append("")

    if nets:
        out.append("### Whole networks, 224×224 (images/s)\n")
        out.append("| network | mode | batch | threads | openblas | dispatch | PyTorch | ONNX Runtime | peak RSS (Fovea openblas) |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        table = defaultdict(dict)
        rss = {}
        for r in nets:
            key = (r["network"], r["mode"], r["batch"], r["threads"])
            table[key][r["engine"]] = r["imagesPerSecond"]
            if r["engine"] == "openblas" and r.get("peakResidentBytes"):
                rss[key] = r["peakResidentBytes"] / 2**20
        for key in sorted(table):
            cells = [f"{table[key][e]:.2f}" if e in table[key] else "–" for e in ["openblas", "dispatch", "pytorch", "onnxruntime"]]
            out.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | " + " | ".join(cells) + (f" | {rss[key]:.0f} MiB |" if key in rss else " | – |"))
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
