#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets in Tests/Fuzz (see Docs/Reliability.md).

Writes small valid and near-valid files, one folder per format, into Tests/Fuzz/Seeds/:
  safetensors/   every dtype, metadata, scalar and empty tensors, several tensors; plus a few
                 near-valid files (truncated data, an offset off by one, an unknown dtype)
  idx/           plain and gzip IDX files (labels, images, rank 1–4, an empty file, two gzip
                 members); plus near-valid ones (wrong element type, one byte short or long)
  image/         PNG (grey, grey+alpha, RGB, RGBA, palette, 16-bit) and JPEG
                 (baseline, progressive, grey, 4:2:0 and 4:4:4 chroma); plus truncated copies

Everything is generated from fixed values, so re-running rewrites the same bytes (given the same
Pillow and zlib versions). Needs NumPy and Pillow, e.g. the PyTorch venv:
    /work/.venv-torch/bin/python Scripts/make_fuzz_seeds.py        (or Scripts/torch-venv.sh first)
"""
import gzip
import io
import json
import pathlib
import shutil
import struct

import numpy as np
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fuzz" / "Seeds"


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes) → the file's bytes."""
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    values = np.linspace(-2, 2, 6).reshape(2, 3)
    kinds = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1"}
    seeds = {}
    for dtype, numpy_type in kinds.items():
        seeds[f"{dtype.lower()}.safetensors"] = safetensors([("t", dtype, (2, 3), values.astype(numpy_type).tobytes())])
    bf16 = (values.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    seeds["bf16.safetensors"] = safetensors([("t", "BF16", (2, 3), bf16)])
    seeds["bool.safetensors"] = safetensors([("t", "BOOL", (4,), bytes([0, 1, 1, 0]))])
    seeds["several.safetensors"] = safetensors(
        [("conv.weight", "F32", (2, 1, 2, 2), np.arange(8, dtype="<f4").tobytes()),
         ("conv.bias", "F32", (2,), np.ones(2, dtype="<f4").tobytes()),
         ("bn.num_batches_tracked", "I64", (), struct.pack("<q", 7))],
        metadata={"epoch": "3", "format": "pt"})
    seeds["empty_tensor.safetensors"] = safetensors([("e", "F32", (0, 3), b"")])
    seeds["no_tensors.safetensors"] = safetensors([], metadata={"k": "v"})
    valid = seeds["several.safetensors"]
    seeds["near_truncated.safetensors"] = valid[:-3]
    seeds["near_offset.safetensors"] = valid.replace(b'"data_offsets":[0,8]', b'"data_offsets":[1,8]')
    seeds["near_dtype.safetensors"] = seeds["f32.safetensors"].replace(b'"F32"', b'"F31"')
    return seeds


def idx(array):
    return bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape) + array.astype("u1").tobytes()


def idx_seeds():
    labels = np.array([9, 0, 0, 3, 0, 2, 7, 2, 5, 5], dtype="u1")
    images = (np.arange(3 * 4 * 4) * 5 % 256).reshape(3, 4, 4)
    seeds = {
        "labels.idx1": idx(labels),
        "images.idx3": idx(images),
        "rank4.idx": idx(np.arange(24).reshape(1, 2, 3, 4)),
        "empty.idx": idx(np.zeros((0, 28, 28))),
        "near_type.idx": bytes([0, 0, 0x0D, 1, 0, 0, 0, 2]) + b"\x00" * 8,
        "near_short.idx": idx(labels)[:-1],
        "near_long.idx": idx(labels) + b"\x00",
    }
    for name in ["labels.idx1", "images.idx3", "empty.idx"]:
        seeds[name + ".gz"] = gzip.compress(seeds[name], mtime=0)
    seeds["two_members.idx.gz"] = gzip.compress(seeds["labels.idx1"][:9], mtime=0) + gzip.compress(seeds["labels.idx1"][9:], mtime=0)
    seeds["near_truncated.idx.gz"] = seeds["images.idx3.gz"][:-6]
    return seeds


def encoded(image, kind, **options):
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def image_seeds():
    y, x = np.mgrid[0:6, 0:8]
    rgb = np.stack([x * 30, y * 40, (x + y) * 15], axis=-1).astype("u1")
    picture = Image.fromarray(rgb, "RGB")
    grey = picture.convert("L")
    seeds = {
        "grey.png": encoded(grey, "PNG"),
        "grey_alpha.png": encoded(picture.convert("LA"), "PNG"),
        "rgb.png": encoded(picture, "PNG"),
        "rgba.png": encoded(picture.convert("RGBA"), "PNG"),
        "palette.png": encoded(picture.convert("P"), "PNG"),
        "grey16.png": encoded(Image.fromarray((y * 9000 + x).astype("uint16")), "PNG"),
        "baseline.jpg": encoded(picture, "JPEG", quality=90),
        "progressive.jpg": encoded(picture, "JPEG", quality=80, progressive=True),
        "grey.jpg": encoded(grey, "JPEG", quality=90),
        "chroma420.jpg": encoded(picture, "JPEG", quality=75, subsampling=2),
        "chroma444.jpg": encoded(picture, "JPEG", quality=75, subsampling=0),
    }
    seeds["near_truncated.png"] = seeds["rgb.png"][: len(seeds["rgb.png"]) // 2]
    seeds["near_truncated.jpg"] = seeds["baseline.jpg"][: len(seeds["baseline.jpg"]) * 2 // 3]
    return seeds


def main():
    for folder, seeds in [("safetensors", safetensors_seeds()), ("idx", idx_seeds()), ("image", image_seeds())]:
        target = OUT / folder
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for name, data in sorted(seeds.items()):
            (target / name).write_bytes(data)
        print(f"{target.relative_to(ROOT)}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes")


if __name__ == "__main__":
    main()
