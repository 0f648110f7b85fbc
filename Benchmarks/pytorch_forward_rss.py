"""Peak resident memory of one torchvision network's evaluation-mode forward pass in PyTorch or in
ONNX Runtime.

One network per process, so nothing measured before inflates the peak (ru_maxrss never goes
down). Prints one JSON line: network, engine, batch, threads, images/s (median of --runs after a
warm-up), peak RSS in bytes, and the RSS after building the model (weights alone).

With `--engine onnxruntime` the model is exported to ONNX by a child process (PyTorch's export
would otherwise count towards this process's peak), and this process imports only ONNX Runtime and
NumPy, then runs the session as `Benchmarks/pytorch_bench.py` does (intra-op threads = --threads,
inter-op 1).

    /work/.venv-torch/bin/python Benchmarks/pytorch_forward_rss.py --net vgg16 --batch 8 --threads 2
    /work/.venv-torch/bin/python Benchmarks/pytorch_forward_rss.py --net vgg16 --batch 8 --threads 2 --engine onnxruntime
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


EXPORT = """
import sys, torch, torchvision
model = getattr(torchvision.models, sys.argv[1])().eval()
torch.onnx.export(model, torch.randn(int(sys.argv[2]), 3, 224, 224), sys.argv[3], input_names=["x"], output_names=["y"],
                  opset_version=17, dynamo=False)
"""


def timed(run, runs):
    run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pytorch(args):
    import torch
    import torchvision
    torch.set_num_threads(args.threads)
    model = getattr(torchvision.models, args.net)().eval()
    after_model = peak_rss_bytes()
    x = torch.randn(args.batch, 3, 224, 224)
    with torch.no_grad():
        seconds = timed(lambda: model(x), args.runs)
    return seconds, after_model


def onnxruntime(args):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"{args.net}.onnx")
        subprocess.run([sys.executable, "-c", EXPORT, args.net, str(args.batch), path], check=True)
        import numpy
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    after_model = peak_rss_bytes()
    x = numpy.random.default_rng(0).standard_normal((args.batch, 3, 224, 224), dtype=numpy.float32)
    seconds = timed(lambda: session.run(None, {"x": x}), args.runs)
    return seconds, after_model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--net", required=True, help="a torchvision.models constructor, e.g. vgg16")
    parser.add_argument("--engine", choices=["pytorch", "onnxruntime"], default="pytorch")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    seconds, after_model = (pytorch if args.engine == "pytorch" else onnxruntime)(args)
    print(json.dumps({"network": args.net, "engine": args.engine, "batch": args.batch, "threads": args.threads,
                      "imagesPerSecond": args.batch / seconds,
                      "peakResidentBytes": peak_rss_bytes(), "residentAfterModelBytes": after_model}))


if __name__ == "__main__":
    main()
