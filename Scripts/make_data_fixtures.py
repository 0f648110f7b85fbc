#!/usr/bin/env python3
"""Fixtures for Fovea's data tests: tiny images, safetensors files of every dtype, and
checksums of the real Fashion-MNIST test set.

Writes into Tests/FoveaTests/Fixtures/data/:
  rgb_4x3.png, grey_5x2.png       tiny PNGs with known pixel values (listed in data.json)
  photo_16x12.jpg                 a small JPEG; data.json holds Pillow's decoded pixels
  dtypes.safetensors              one tensor per dtype (F32, F16, BF16, F64, I64, I32, I16, I8, U8,
                                  BOOL) written by the `safetensors` library, values in data.json
  data.json                       everything the tests compare against (format_version 1)

and, when Debian's dataset-fashion-mnist is installed, the label and a checksum (byte sum and
FNV-1a 64) of the first test image.

Regenerate with:
    python3 -m venv .venv-data && .venv-data/bin/pip install numpy pillow safetensors
    .venv-data/bin/python Scripts/make_data_fixtures.py
"""
import gzip
import json
import pathlib

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

FORMAT_VERSION = 1
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "FoveaTests" / "Fixtures" / "data"
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
FASHION_LABELS = pathlib.Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    document = {"format_version": FORMAT_VERSION, "generator": "Scripts/make_data_fixtures.py"}

    rgb = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)  # H=3, W=4, RGB
    Image.fromarray(rgb, "RGB").save(OUT / "rgb_4x3.png")
    document["rgb_4x3"] = {"height": 3, "width": 4, "hwc": rgb.flatten().tolist()}

    grey = rng.integers(0, 256, size=(2, 5), dtype=np.uint8)  # H=2, W=5
    Image.fromarray(grey, "L").save(OUT / "grey_5x2.png")
    document["grey_5x2"] = {"height": 2, "width": 5, "hw": grey.flatten().tolist()}

    yy, xx = np.mgrid[0:12, 0:16]
    photo = np.stack([xx * 15, yy * 20, (xx + yy) * 8], axis=-1).clip(0, 255).astype(np.uint8)
    Image.fromarray(photo, "RGB").save(OUT / "photo_16x12.jpg", quality=95)
    decoded = np.asarray(Image.open(OUT / "photo_16x12.jpg").convert("RGB"))
    document["photo_16x12"] = {"height": 12, "width": 16, "hwc_decoded_by_pillow": decoded.flatten().tolist()}

    values = np.array([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]])
    tensors = {
        "f32": values.astype(np.float32),
        "f16": values.astype(np.float16),
        "f64": values.astype(np.float64),
        "i64": np.array([[1, -2, 3], [40, 5000, -6]], dtype=np.int64),
        "i32": np.array([7, -8], dtype=np.int32),
        "i16": np.array([-300, 300], dtype=np.int16),
        "i8": np.array([-128, 127], dtype=np.int8),
        "u8": np.array([0, 255, 17], dtype=np.uint8),
        "bool": np.array([True, False, True]),
    }
    # BF16 has no NumPy dtype: store the upper 16 bits of float32 as uint16 and relabel below.
    bf16_source = np.array([1.0, -2.5, 3.140625], dtype=np.float32)
    tensors["bf16"] = (bf16_source.view(np.uint32) >> 16).astype(np.uint16)
    path = OUT / "dtypes.safetensors"
    save_file(tensors, str(path), metadata={"made_by": "make_data_fixtures.py"})
    raw = bytearray(path.read_bytes())
    header_length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_length])
    header["bf16"]["dtype"] = "BF16"
    new_header = json.dumps(header, separators=(",", ":")).encode()
    new_header += b" " * (header_length - len(new_header))  # U16 → BF16 keeps the length or shortens it
    assert len(new_header) == header_length
    path.write_bytes(raw[:8] + new_header + raw[8 + header_length:])
    document["dtypes"] = {
        name: {"shape": list(array.shape), "values": [float(v) for v in array.astype(np.float64).flatten()]}
        for name, array in tensors.items() if name != "bf16"
    }
    document["dtypes"]["bf16"] = {"shape": [3], "values": [float(v) for v in bf16_source]}

    if FASHION.exists():
        with gzip.open(FASHION) as f:
            data = f.read()
        first = data[16:16 + 28 * 28]
        with gzip.open(FASHION_LABELS) as f:
            labels = f.read()[8:]
        document["fashion_mnist_test"] = {
            "count": (len(data) - 16) // (28 * 28),
            "first_label": labels[0],
            "first_image_byte_sum": sum(first),
            "first_image_fnv1a64": str(fnv1a64(first)),
            "label_histogram": [labels.count(bytes([c])) for c in range(10)],
        }
    (OUT / "data.json").write_text(json.dumps(document, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote fixtures to {OUT}")


if __name__ == "__main__":
    main()
