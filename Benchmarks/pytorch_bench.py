#!/usr/bin/env python3
"""PyTorch and ONNX Runtime on fovea-bench's layer suite and networks, written in fovea-bench's
JSON report format, so `fovea-bench compare fovea.json pytorch.json` prints the ratios.

Layers (NCHW fp32, same names, shapes, batches and thread counts as `fovea-bench layers`):
  pytorch      forward (F.conv2d), backward-data (torch.nn.grad.conv2d_input),
               backward-filter (torch.nn.grad.conv2d_weight)
  onnxruntime  forward, a one-node ONNX model of the convolution (CPU execution provider)
Networks (`--nets`): torchvision alexnet, vgg16, resnet50, densenet121 at 224×224, random
weights: forward in eval mode (pytorch, onnxruntime) and one SGD training step (pytorch).

Timing: three warm-ups (as fovea-bench), then the median of --runs runs; threads set with torch.set_num_threads and
ORT's intra_op_num_threads (inter-op 1).

Run:  $(Scripts/torch-venv.sh) -m pip install onnxruntime onnx   # once
      $(Scripts/torch-venv.sh) Benchmarks/pytorch_bench.py --json pytorch.json [--threads 1,2] [--batches 1,8] [--nets]
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


def bench_layers(args, threads_list, batches, ort_available):
    results = []
    for name, c, k, r, size, stride, pad in LAYERS:
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
                with torch.no_grad():
                    results.append(layer_result(name, "forward", "pytorch", batch, threads,
                                                median_time(lambda: F.conv2d(x, w, b, stride, pad), args.runs), flops))
                    results.append(layer_result(name, "backward-data", "pytorch", batch, threads,
                                                median_time(lambda: torch.nn.grad.conv2d_input(x.shape, w, gy, stride, pad), args.runs), flops))
                    results.append(layer_result(name, "backward-filter", "pytorch", batch, threads,
                                                median_time(lambda: torch.nn.grad.conv2d_weight(x, w.shape, gy, stride, pad), args.runs), flops))
                if ort_available:
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
    parser.add_argument("--nets", action="store_true", help="also the whole networks")
    parser.add_argument("--no-layers", action="store_true")
    args = parser.parse_args()
    threads_list = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
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
        "layers": [] if args.no_layers else bench_layers(args, threads_list, batches, ort_available),
        "networks": bench_nets(args, threads_list, batches, ort_available) if args.nets else [],
    }
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
