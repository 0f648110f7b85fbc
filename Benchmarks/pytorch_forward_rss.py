"""Peak resident memory of one torchvision network's evaluation-mode forward pass in PyTorch.

One network per process, so nothing measured before inflates the peak (ru_maxrss never goes
down). Prints one JSON line: network, batch, threads, images/s (median of --runs after a
warm-up), peak RSS in bytes, and the RSS after building the model (weights alone).

    /work/.venv-torch/bin/python Benchmarks/pytorch_forward_rss.py --net vgg16 --batch 8 --threads 2
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torchvision


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--net", required=True, help="a torchvision.models constructor, e.g. vgg16")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = getattr(torchvision.models, args.net)().eval()
    after_model = peak_rss_bytes()
    x = torch.randn(args.batch, 3, 224, 224)
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(args.runs):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    print(json.dumps({"network": args.net, "engine": "pytorch", "batch": args.batch, "threads": args.threads,
                      "imagesPerSecond": args.batch / statistics.median(times),
                      "peakResidentBytes": peak_rss_bytes(), "residentAfterModelBytes": after_model}))


if __name__ == "__main__":
    main()
