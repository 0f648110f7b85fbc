#!/usr/bin/env python3
"""Writes Fashion-MNIST (or MNIST) IDX files as a folder of PNGs, one sub-folder per class,
split into train/ and val/ — a stand-in for your own photos when trying
`fovea train --data-dir <folder>` (Docs/Training.md). Standard library only.

Usage: Scripts/fashion_mnist_folder.py OUT [--per-class N] [--val-per-class M] [--idx-dir DIR]
"""
import argparse, gzip, os, struct, zlib

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, kind, rank = struct.unpack(">HBB", data[:4])
    assert zero == 0 and kind == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def png(width, height, grey_bytes):
    """An 8-bit greyscale PNG."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + grey_bytes[y * width:(y + 1) * width] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise SystemExit(f"{folder}: no {stem}[.gz]")


def write(out, split, images_path, labels_path, per_class):
    (count, height, width), pixels = read_idx(images_path)
    _, labels = read_idx(labels_path)
    written = [0] * len(CLASSES)
    for index in range(count):
        label = labels[index]
        if written[label] >= per_class:
            continue
        folder = os.path.join(out, split, CLASSES[label])
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"{index:05d}.png"), "wb") as f:
            f.write(png(width, height, pixels[index * height * width:(index + 1) * height * width]))
        written[label] += 1
    return sum(written)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--per-class", type=int, default=500, help="training images per class (from the training set)")
    parser.add_argument("--val-per-class", type=int, default=100, help="validation images per class (from the test set)")
    parser.add_argument("--idx-dir", default=os.environ.get("FOVEA_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
    args = parser.parse_args()
    train = write(args.out, "train", find(args.idx_dir, "train-images-idx3-ubyte"), find(args.idx_dir, "train-labels-idx1-ubyte"), args.per_class)
    val = write(args.out, "val", find(args.idx_dir, "t10k-images-idx3-ubyte"), find(args.idx_dir, "t10k-labels-idx1-ubyte"), args.val_per_class)
    print(f"{args.out}: {train} training and {val} validation PNGs in {len(CLASSES)} class folders")


if __name__ == "__main__":
    main()
