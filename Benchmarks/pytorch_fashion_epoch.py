#!/usr/bin/env python3
"""Time one training epoch of Fovea's `cnn-bn` model in PyTorch on Fashion-MNIST, for the
comparison in Docs/Training.md.

Same architecture (conv 5×5 32 → BN → ReLU → max pool → conv 5×5 64 → BN → ReLU → max pool →
linear 1024 → ReLU → dropout 0.3 → linear 10), same batch size (64), same optimiser (SGD,
momentum 0.9, Nesterov, weight decay 5e-4, lr 0.05), same thread count, on the same 60,000 images
read from Debian's dataset-fashion-mnist.

Run:  $(Scripts/torch-venv.sh) Benchmarks/pytorch_fashion_epoch.py --threads 2 [--epochs 1]
"""
import argparse
import gzip
import time

import numpy as np
import torch
from torch import nn

FOLDER = "/usr/share/datasets/fashion-mnist"


def load(split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{FOLDER}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(f"{FOLDER}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


def model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5, padding=2, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1024), nn.ReLU(), nn.Dropout(0.3), nn.Linear(1024, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x, y = load("train")
    xt, yt = load("test")
    net = model()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x))
        start = time.perf_counter()
        for i in range(0, len(x), args.batch_size):
            index = order[i:i + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(net(x[index]), y[index])
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        net.eval()
        with torch.no_grad():
            accuracy = sum((net(xt[i:i + 256]).argmax(1) == yt[i:i + 256]).sum().item() for i in range(0, len(xt), 256)) / len(xt)
        print(f"pytorch {torch.__version__} epoch {epoch + 1}: {seconds:.1f} s ({len(x) / seconds:.0f} images/s), "
              f"{args.threads} threads, test accuracy {accuracy * 100:.2f}%", flush=True)


if __name__ == "__main__":
    main()
