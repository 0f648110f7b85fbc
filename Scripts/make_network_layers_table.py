#!/usr/bin/env python3
"""The Markdown table of Docs/Performance.md, "Network layers the suite lacks (issue 19)": forward
GFLOP/s of dispatch and ONNX Runtime per layer of a `fovea-bench layers --write-layers` list, the
median over several rounds, their ratio, and geometric means; then ratios by kind of layer and the
layers' total time per network (each geometry × its count, the `×N` ending its name).

Usage: Scripts/make_network_layers_table.py LAYERS.json FOVEA-1.json ORT-1.json [FOVEA-2.json ORT-2.json …]
  LAYERS.json   fovea-bench layers --from-network … --write-layers LAYERS.json
  FOVEA-i.json  fovea-bench layers --from-network … --engines dispatch --passes forward --json FOVEA-i.json
  ORT-i.json    Benchmarks/pytorch_bench.py --layers LAYERS.json --engines onnxruntime --passes forward --json ORT-i.json
The per-layer table is for the largest thread count; the geometric means for every thread count.
"""
import json
import math
import statistics
import sys


def rates(path, engine):
    """(layer, batch, threads) → forward GFLOP/s of `engine` in one report."""
    with open(path) as f:
        return {(r["layer"], r["batch"], r["threads"]): r["gflops"] for r in json.load(f)["layers"]
                if r["engine"] == engine and r["pass"] == "forward"}


def geometric_mean(values):
    return math.exp(sum(map(math.log, values)) / len(values))


def flops(layer):
    """2·K·C·R·S·P·Q of one image."""
    side = (layer["size"] + 2 * layer["padding"] - layer["kernel"]) // layer["stride"] + 1
    return 2.0 * layer["outputChannels"] * layer["inputChannels"] * layer["kernel"] ** 2 * side * side


def count(layer):
    """The number of the network's layers with this geometry: the `×N` ending the name."""
    return int(layer["name"].rsplit("×", 1)[1])


def kind(layer):
    if layer["stride"] > 1:
        return f"{layer['kernel']}×{layer['kernel']} stride {layer['stride']}"
    return f"{layer['kernel']}×{layer['kernel']} @{layer['size']}"


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2 != 0:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        layers = json.load(f)["layers"]
    fovea = [rates(path, "dispatch") for path in sys.argv[2::2]]
    ort = [rates(path, "onnxruntime") for path in sys.argv[3::2]]

    def median(rounds, layer, batch, threads):
        return statistics.median(r[(layer["name"], batch, threads)] for r in rounds)

    batches = sorted({key[1] for key in fovea[0]})
    thread_counts = sorted({key[2] for key in fovea[0]})
    threads = thread_counts[-1]
    header = " | ".join(f"dispatch, batch {b} | ORT, batch {b} | dispatch ÷ ORT" for b in batches)
    print(f"| layer ({threads} thread{'s' if threads > 1 else ''}, GFLOP/s) | {header} |")
    print("|---|" + "---:|" * (3 * len(batches)))
    for layer in layers:
        cells = []
        for b in batches:
            d, o = median(fovea, layer, b, threads), median(ort, layer, b, threads)
            cells += [f"{d:.0f}", f"{o:.0f}", f"{d / o:.2f}×"]
        print(f"| {layer['name']} | " + " | ".join(cells) + " |")
    for t in thread_counts:
        cells = []
        for b in batches:
            d = [median(fovea, layer, b, t) for layer in layers]
            o = [median(ort, layer, b, t) for layer in layers]
            cells += [f"**{geometric_mean(d):.0f}**", f"**{geometric_mean(o):.0f}**",
                      f"**{geometric_mean([x / y for x, y in zip(d, o)]):.2f}×**"]
        print(f"| **geometric mean, {t} thread{'s' if t > 1 else ''}** | " + " | ".join(cells) + " |")

    print(f"\n| kind ({threads} threads) | geometries | " + " | ".join(f"dispatch ÷ ORT, batch {b}" for b in batches) + " |")
    print("|---|---:|" + "---:|" * len(batches))
    kinds = {}
    for layer in layers:
        kinds.setdefault(kind(layer), []).append(layer)
    for name, group in kinds.items():
        ratios = [geometric_mean([median(fovea, l, b, threads) / median(ort, l, b, threads) for l in group]) for b in batches]
        print(f"| {name} | {len(group)} | " + " | ".join(f"{r:.2f}×" for r in ratios) + " |")

    print("\n| network | threads | batch | geometries (layers) | dispatch ms | ORT ms | ORT ÷ dispatch time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for network in dict.fromkeys(layer["name"].split()[0] for layer in layers):
        group = [layer for layer in layers if layer["name"].split()[0] == network]
        for t in thread_counts:
            for b in batches:
                d = sum(count(l) * flops(l) * b / median(fovea, l, b, t) for l in group) / 1e6
                o = sum(count(l) * flops(l) * b / median(ort, l, b, t) for l in group) / 1e6
                print(f"| {network} | {t} | {b} | {len(group)} ({sum(map(count, group))}) | {d:.1f} | {o:.1f} | {o / d:.2f}× |")


if __name__ == "__main__":
    main()
