#!/usr/bin/env python3
"""PyTorch and ONNX Runtime on fovea-bench's layer suite and networks, written in fovea-bench's
JSON report format, so `fovea-bench compare fovea.json pytorch.json` prints the ratios.

Layers (NCHW fp32, same names, shapes, batches and thread counts as `fovea-bench layers`):
  pytorch      forward (F.conv2d), backward-data (torch.nn.grad.conv2d_input),
               backward-filter (torch.nn.grad.conv2d_weight)
  onnxruntime  forward, a one-node ONNX model of the convolution (CPU execution provider)
Networks (`--nets`): torchvision alexnet, vgg16, resnet50, densenet121 at 224×224, random
weights: forward in eval mode (pytorch, onnxruntime) and one SGD training step (pytorch).

Layers from elsewhere (`--layers FILE`): the list `fovea-bench layers … --write-layers FILE` writes,
e.g. the convolutions of whole networks (`--from-network resnet50,densenet121`), timed instead of
the suite under the same names:
  fovea-bench layers --from-network resnet50,densenet121 --missing-only --write-layers net-layers.json
  $(Scripts/torch-venv.sh) Benchmarks/pytorch_bench.py --layers net-layers.json --json pytorch-net.json
`--passes` and `--engines` narrow what is timed (as fovea-bench layers's options of the same names).

Timing: three warm-ups (as fovea-bench), then the median of --runs runs; threads set with torch.set_num_threads and
ORT's intra_op_num_threads (inter-op 1).

Run:  $(Scripts/torch-venv.sh) -m pip install onnxruntime onnx   # once
      $(Scripts/torch-venv.sh) Benchmarks/pytorch_bench.py --json pytorch.json [--threads 1,2] [--batches 1,8] [--nets]
          [--layers layers.json] [--passes forward,backward-data,backward-filter] [--engines pytorch,onnxruntime]
"""
import argparse
import datetime
import io
import json
import platform
import statistics
import time
import warnings

import torch
import torch.nn.functional as F

warnings.filterwarnings("ignore", category=DeprecationWarning)

LAYERS = [
    ("alexnet.conv1 3→64 11×11/4 @224", 3, 64, 11, 224, 4, 2),
    ("alexnet.conv2 64→192 5×5 @27", 64, 192, 5, 27, 1, 2),
    ("alexnet.conv3 192→384 3×3 @13", 192, 384, 3, 13, 1, 1),
    ("alexnet.conv4 384→256 3×3 @13", 384, 256, 3, 13, 1, 1),
    ("alexnet.conv5 256→256 3×3 @13", 256, 256, 3, 13, 1, 1),
    ("vgg16 3→64 3×3 @224", 3, 64, 3, 224, 1, 1),
    ("vgg16 64→64 3×3 @224", 64, 64, 3, 224, 1, 1),
    ("vgg16 64→128 3×3 @112", 64, 128, 3, 112, 1, 1),
    ("vgg16 128→256 3×3 @56", 128, 256, 3, 56, 1, 1),
    ("vgg16 256→256 3×3 @56", 256, 256, 3, 56, 1, 1),
    ("vgg16 256→512 3×3 @28", 256, 512, 3, 28, 1, 1),
    ("vgg16 512→512 3×3 @14", 512, 512, 3, 14, 1, 1),
    ("resnet50.stem 3→64 7×7/2 @224", 3, 64, 7, 224, 2, 3),
    ("resnet50 64→64 1×1 @56", 64, 64, 1, 56, 1, 0),
    ("resnet50 64→64 3×3 @56", 64, 64, 3, 56, 1, 1),
    ("resnet50 64→256 1×1 @56", 64, 256, 1, 56, 1, 0),
    ("resnet50 256→64 1×1 @56", 256, 64, 1, 56, 1, 0),
    ("resnet50 128→128 3×3 @28", 128, 128, 3, 28, 1, 1),
    ("resnet50 256→256 3×3 @14", 256, 256, 3, 14, 1, 1),
    ("resnet50 512→512 3×3 @7", 512, 512, 3, 7, 1, 1),
    ("resnet50 512→2048 1×1 @7", 512, 2048, 1, 7, 1, 0),
    ("densenet121 bottleneck 256→128 1×1 @56", 256, 128, 1, 56, 1, 0),
    ("densenet121 growth 128→32 3×3 @56", 128, 32, 3, 56, 1, 1),
    ("convnet-benchmarks L1 3→96 11×11 @128", 3, 96, 11, 128, 1, 0),
    ("convnet-benchmarks L2 64→128 9×9 @64", 64, 128, 9, 64, 1, 0),
    ("convnet-benchmarks L3 128→128 9×9 @32", 128, 128, 9, 32, 1, 0),
    ("convnet-benchmarks L4 128→128 7×7 @16", 128, 128, 7, 16, 1, 0),
    ("convnet-benchmarks L5 384→384 3×3 @13", 384, 384, 3, 13, 1, 0),
]


LAYER_LIST_FORMAT = 1
PASSES = ["forward", "backward-data", "backward-filter"]
ENGINES = ["pytorch", "onnxruntime"]


def read_layer_list(path):
    """The layers of a `fovea-bench layers --write-layers` file, as LAYERS's tuples:
    (name, input channels, output channels, kernel, input size, stride, padding)."""
    with open(path) as f:
        listing = json.load(f)
    if listing.get("formatVersion") != LAYER_LIST_FORMAT:
        raise SystemExit(f"{path}: layer list format {listing.get('formatVersion')}; this script reads format {LAYER_LIST_FORMAT}")
    return [(l["name"], l["inputChannels"], l["outputChannels"], l["kernel"], l["size"], l["stride"], l["padding"])
            for l in listing["layers"]]


def names_in(text, valid, flag):
    """Comma-separated names of `valid`, or exit naming the flag and the valid names."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise SystemExit(f"{flag}: unknown {', '.join(bad) or 'empty list'}; valid: {', '.join(valid)}")
    return names


def median_time(fn, runs):
    for _ in range(3):  # warm-up, as fovea-bench does
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def spread(times):
    if len(times) < 2:
        return 0.0
    q = statistics.quantiles(times, n=4, method="inclusive")
    return (q[2] - q[0]) / 2 / statistics.median(times)


def layer_result(name, pass_, engine, batch, threads, times, flops):
    m = statistics.median(times)
    return {"layer": name, "pass": pass_, "engine": engine, "batch": batch, "threads": threads, "runs": len(times),
            "medianMilliseconds": m * 1e3, "spread": spread(times), "gflops": flops / m / 1e9}


def ort_session(module, example, threads):
    import onnxruntime as ort
    buffer = io.BytesIO()
    torch.onnx.export(module, example, buffer, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])


def bench_layers(args, layers, passes, engines, threads_list, batches, ort_available):
    results = []
    torch_passes = {
        "forward": lambda x, w, b, gy, stride, pad: F.conv2d(x, w, b, stride, pad),
        "backward-data": lambda x, w, b, gy, stride, pad: torch.nn.grad.conv2d_input(x.shape, w, gy, stride, pad),
        "backward-filter": lambda x, w, b, gy, stride, pad: torch.nn.grad.conv2d_weight(x, w.shape, gy, stride, pad),
    }
    for name, c, k, r, size, stride, pad in layers:
        if args.filter and not any(word in name.lower() for word in args.filter.lower().split(",")):
            continue
        for batch in batches:
            x = torch.randn(batch, c, size, size)
            w = torch.randn(k, c, r, r) * 0.05
            b = torch.randn(k)
            y = F.conv2d(x, w, b, stride, pad)
            gy = torch.randn_like(y)
            flops = 2.0 * batch * k * c * r * r * y.shape[2] * y.shape[3]
            for threads in threads_list:
                torch.set_num_threads(threads)
                print(f"  {name} · batch {batch} · {threads} threads", flush=True)
                if "pytorch" in engines:
                    with torch.no_grad():
                        for pass_ in passes:
                            run = torch_passes[pass_]
                            results.append(layer_result(name, pass_, "pytorch", batch, threads,
                                                        median_time(lambda: run(x, w, b, gy, stride, pad), args.runs), flops))
                if ort_available and "onnxruntime" in engines and "forward" in passes:
                    conv = torch.nn.Conv2d(c, k, r, stride, pad)
                    with torch.no_grad():
                        conv.weight.copy_(w)
                        conv.bias.copy_(b)
                    session = ort_session(conv.eval(), x, threads)
                    feed = {"x": x.numpy()}
                    results.append(layer_result(name, "forward", "onnxruntime", batch, threads,
                                                median_time(lambda: session.run(None, feed), args.runs), flops))
    return results


def bench_nets(args, threads_list, batches, ort_available):
    import torchvision
    results = []
    for network in ["alexnet", "vgg16", "resnet50", "densenet121"]:
        model = getattr(torchvision.models, network)()
        for batch in batches:
            x = torch.randn(batch, 3, 224, 224)
            labels = torch.randint(0, 1000, (batch,))
            for threads in threads_list:
                torch.set_num_threads(threads)
                print(f"  {network} · batch {batch} · {threads} threads", flush=True)
                model.eval()
                with torch.no_grad():
                    times = median_time(lambda: model(x), args.runs)
                m = statistics.median(times)
                results.append({"network": network, "mode": "forward", "engine": "pytorch", "batch": batch, "threads": threads,
                                "runs": len(times), "imagesPerSecond": batch / m, "medianMilliseconds": m * 1e3})
                if ort_available:
                    session = ort_session(model, x, threads)
                    feed = {"x": x.numpy()}
                    times = median_time(lambda: session.run(None, feed), args.runs)
                    m = statistics.median(times)
                    results.append({"network": network, "mode": "forward", "engine": "onnxruntime", "batch": batch, "threads": threads,
                                    "runs": len(times), "imagesPerSecond": batch / m, "medianMilliseconds": m * 1e3})
                model.train()
                optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

                def step():
                    optimizer.zero_grad()
                    torch.nn.functional.cross_entropy(model(x), labels).backward()
                    optimizer.step()
                times = median_time(step, max(2, args.runs // 2))
                m = statistics.median(times)
                results.append({"network": network, "mode": "train-step", "engine": "pytorch", "batch": batch, "threads": threads,
                                "runs": len(times), "imagesPerSecond": batch / m, "medianMilliseconds": m * 1e3})
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--filter")
    parser.add_argument("--layers", help="a layer list from fovea-bench layers --write-layers, timed instead of the suite")
    parser.add_argument("--passes", default=",".join(PASSES), help="layer passes (comma-separated): " + ", ".join(PASSES))
    parser.add_argument("--engines", default=",".join(ENGINES), help="layer engines (comma-separated): " + ", ".join(ENGINES))
    parser.add_argument("--nets", action="store_true", help="also the whole networks")
    parser.add_argument("--no-layers", action="store_true")
    args = parser.parse_args()
    threads_list = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    passes = names_in(args.passes, PASSES, "--passes")
    engines = names_in(args.engines, ENGINES, "--engines")
    layers = read_layer_list(args.layers) if args.layers else LAYERS
    try:
        import onnxruntime  # noqa: F401
        ort_available = True
    except ImportError:
        ort_available = False
        print("onnxruntime not installed: PyTorch only")
    report = {
        "tool": "pytorch_bench.py", "formatVersion": 1,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": torch.get_num_threads(), "threads": threads_list,
                    "openBLAS": "", "openBLASCore": "", "swiftVersion": "", "buildConfiguration": f"torch {torch.__version__}",
                    "microKernel": "oneDNN", "peakPerCore": 0.0, "peakAllCores": 0.0,
                    "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
        "layers": [] if args.no_layers else bench_layers(args, layers, passes, engines, threads_list, batches, ort_available),
        "networks": bench_nets(args, threads_list, batches, ort_available) if args.nets else [],
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
