#!/usr/bin/env python3
"""ONNX Runtime's time per node of a torchvision network, to set beside `fovea-bench nets --profile`.

Exports the network (random weights, eval mode) as pytorch_bench.py does, runs it with ONNX Runtime's
profiler on, and prints the median time of each node over the timed runs, largest first, with the
node's operator and the share of the summed node time. ORT fuses batch norm into the convolution and
ReLU or the residual add into its epilogue, so one Conv row covers what Fovea's profile shows as one
fused convolution. Node names follow the export (for example /layer4/layer4.1/conv2/Conv).

Run:  .venv-torch/bin/python Benchmarks/onnxruntime_profile.py --network resnet50 --batch 1 --threads 2
"""
import argparse
import collections
import io
import json
import os
import statistics
import tempfile

import onnxruntime as ort
import torch
import torchvision


def count(lowest, highest):
    """An argparse type: an integer in lowest...highest, else a usage error naming the range."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer ({lowest} to {highest})")
        if not lowest <= value <= highest:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lowest} to {highest})")
        return value
    return parse


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="resnet50", choices=["alexnet", "vgg16", "resnet50", "densenet121"])
    parser.add_argument("--batch", type=count(1, 1024), default=1)
    parser.add_argument("--threads", type=count(1, 1024), default=2)
    parser.add_argument("--runs", type=count(1, 1000), default=10)
    parser.add_argument("--top", type=count(1, 100000), default=40, help="print only the nodes with the most time")
    args = parser.parse_args()

    torch.manual_seed(0)
    model = getattr(torchvision.models, args.network)().eval()
    x = torch.randn(args.batch, 3, 224, 224)
    buffer = io.BytesIO()
    torch.onnx.export(model, x, buffer, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    for _ in range(3):  # warm-up, dropped below by counting runs
        session.run(None, feed)
    for _ in range(args.runs):
        session.run(None, feed)
    trace = json.load(open(session.end_profiling()))

    runs = [event for event in trace if event.get("cat") == "Session" and event["name"] == "model_run"]
    first_timed = sorted(run["ts"] for run in runs)[-args.runs]
    per_node = collections.defaultdict(list)
    operator = {}
    for event in trace:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time") or event["ts"] < first_timed:
            continue
        name = event["name"][: -len("_kernel_time")]
        per_node[name].append(event["dur"] / 1000.0)
        operator[name] = event["args"].get("op_name", "?")
    medians = {name: statistics.median(times) for name, times in per_node.items()}
    whole = statistics.median(run["dur"] / 1000.0 for run in runs if run["ts"] >= first_timed)
    total = sum(medians.values())
    print(f"{args.network} · onnxruntime {ort.__version__} · batch {args.batch} · {args.threads} threads: "
          f"run {whole:.2f} ms (median of {args.runs}), nodes {total:.2f} ms")
    by_operator = collections.Counter()
    for name, ms in medians.items():
        by_operator[operator[name]] += ms
    for op, ms in by_operator.most_common():
        print(f"  {op:<24} {ms:7.2f} ms  {100 * ms / total:5.1f}%")
    print()
    for name, ms in sorted(medians.items(), key=lambda item: -item[1])[: args.top]:
        print(f"  {name:<48} {operator[name]:<20} {ms:6.3f} ms")


if __name__ == "__main__":
    main()
