#!/usr/bin/env python3
"""Reference outputs for Fovea's image-filter tests, computed with SciPy's ndimage.correlate.

Reads two photos from Debian's python3-skimage (not copied into the repository):
  camera.png     512×512 grey   → the 64×64 window at rows 120–183, columns 200–263 (face, camera)
  astronaut.png  512×512 RGB    → the 64×64 window at rows 340–403, columns 130–193 (mission patch)
filters each crop with every classic kernel (and a few stride / dilation / pooling variants; the
colour crop with a subset, RGB_CASES), channel by channel, as a cross-correlation with zero padding (`mode="constant", cval=0`), maps the values to
grey levels exactly as Fovea documents (PixelMapping):
  clamp    min(max(x, 0), 255)               kernels whose weights sum to 1
  abs      255·|x| / max|x|                  kernels whose weights sum to 0
  rescale  255·(x − min) / (max − min)       anything else
(over the whole image, all channels together), rounds half up, and writes into
Tests/FoveaTests/Fixtures/vision/:
  <photo>_<case>.png   the expected 8-bit output (grey or RGB PNG)
  vision.json          the crops (with an FNV-1a 64 checksum of their pixels), the kernels, the cases

Needs only NumPy and SciPy (PNG files are read and written here with zlib). The photos are found in
FOVEA_SKIMAGE_DATA, else /usr/lib/python3/dist-packages/skimage/data. Regenerate with:
    python3 Scripts/make_vision_fixtures.py
"""
import json
import os
import pathlib
import struct
import zlib

import numpy as np
from scipy import ndimage

FORMAT_VERSION = 1
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "FoveaTests" / "Fixtures" / "vision"
DATA = pathlib.Path(os.environ.get("FOVEA_SKIMAGE_DATA", "/usr/lib/python3/dist-packages/skimage/data"))

PHOTOS = {
    "camera": {"file": "camera.png", "top": 120, "left": 200, "size": 64},
    "astronaut": {"file": "astronaut.png", "top": 340, "left": 130, "size": 64},
}

KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge-detection": [[1, 0, -1], [0, 0, 0], [-1, 0, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "box-blur": (np.ones((3, 3)) / 9).tolist(),
    "gaussian-blur": (np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16).tolist(),
    "gaussian-blur-5": (np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256).tolist(),
    "sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel-y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
}


def gaussian(size, sigma):
    c = (size - 1) / 2
    r = np.arange(size) - c
    w = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma * sigma))
    return w / w.sum()


KERNELS["gaussian:5:1"] = gaussian(5, 1.0).tolist()

# Each case: a kernel, stride, dilation, pooling (kind, size) or None, and the mapping when it is not
# the automatic one. Padding is always "same" = dilation·(k−1)/2, so that SciPy's centred
# correlation followed by [::stride, ::stride] is Fovea's strided convolution.
CASES = [(name, name, 1, 1, None, None) for name in KERNELS] + [
    ("sobel-x_stride2", "sobel-x", 2, 1, None, None),
    ("laplacian_dilation2", "laplacian", 1, 2, None, None),
    ("gaussian-blur_maxpool2", "gaussian-blur", 1, 1, ("max", 2), None),
    ("sharpen_avgpool2", "sharpen", 1, 1, ("avg", 2), None),
    ("sobel-x_rescale", "sobel-x", 1, 1, None, "rescale"),
    ("sharpen_abs", "sharpen", 1, 1, None, "abs"),
]
# The colour photo (three times the bytes) only for these cases: one of each mapping and a pooling.
RGB_CASES = {"sharpen", "gaussian-blur", "outline", "sobel-x", "sharpen_avgpool2", "sobel-x_rescale"}


# --- PNG, 8-bit, non-interlaced -------------------------------------------------------------------

def read_png(path):
    """Returns an array [H, W, C] of uint8 (C = 1 or 3; alpha dropped)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (0, 2, 4, 6), f"{path}: unsupported PNG"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw[start + 1:start + 1 + stride], dtype=np.uint8).astype(np.int32)
        row = np.zeros(stride, dtype=np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + previous) & 255
        else:  # Sub, Average, Paeth depend on the reconstructed left neighbour: byte by byte
            for x in range(stride):
                a = row[x - channels] if x >= channels else 0
                b = previous[x]
                c = previous[x - channels] if x >= channels else 0
                if kind == 1:
                    predictor = a
                elif kind == 3:
                    predictor = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[x] = (line[x] + predictor) & 255
        out[y] = row
        previous = row
    image = out.reshape(height, width, channels).astype(np.uint8)
    return image[:, :, :1] if channels == 2 else image[:, :, :3] if channels == 4 else image


def write_png(path, image):
    """Writes [H, W, C] uint8, C = 1 or 3; per row the filter (None, Sub, Up, Average, Paeth) with
    the smallest sum of absolute signed residuals, the usual heuristic."""
    height, width, channels = image.shape

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    flat = image.reshape(height, width * channels).astype(np.int32)
    rows = []
    for y in range(height):
        x = flat[y]
        a = np.concatenate([np.zeros(channels, np.int32), x[:-channels]])
        b = flat[y - 1] if y > 0 else np.zeros_like(x)
        c = np.concatenate([np.zeros(channels, np.int32), b[:-channels]])
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        candidates = [x, x - a, x - b, x - (a + b) // 2, x - paeth]
        residuals = [(r & 255).astype(np.uint8) for r in candidates]
        best = min(range(5), key=lambda k: np.abs(residuals[k].astype(np.int8).astype(np.int32)).sum())
        rows.append(bytes([best]) + residuals[best].tobytes())
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    body = zlib.compress(b"".join(rows), 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b""))


# --- The filter and the mapping, as Fovea documents them --------------------------------------------

def dilate(kernel, d):
    k = np.asarray(kernel, dtype=np.float64)
    out = np.zeros((d * (k.shape[0] - 1) + 1, d * (k.shape[1] - 1) + 1))
    out[::d, ::d] = k
    return out


def apply(image, kernel, stride, dilation, pooling):
    """image [H, W, C] float64 → [P, Q, C]: correlate per channel, zero padding 'same', then stride."""
    k = dilate(kernel, dilation)
    planes = [ndimage.correlate(image[:, :, c], k, mode="constant", cval=0.0)[::stride, ::stride]
              for c in range(image.shape[2])]
    out = np.stack(planes, axis=-1)
    if pooling:
        kind, size = pooling
        h, w = out.shape[0] // size, out.shape[1] // size
        blocks = out[:h * size, :w * size].reshape(h, size, w, size, -1)
        out = blocks.max(axis=(1, 3)) if kind == "max" else blocks.mean(axis=(1, 3))
    return out


def mapping_for(kernel):
    total = float(np.sum(kernel))
    return "clamp" if abs(total - 1) <= 1e-4 else "abs" if abs(total) <= 1e-4 else "rescale"


def to_grey_levels(x, mapping):
    if mapping == "clamp":
        y = np.clip(x, 0, 255)
    elif mapping == "abs":
        largest = np.abs(x).max()
        y = 255 * np.abs(x) / largest if largest > 0 else np.zeros_like(x)
    else:
        low, high = x.min(), x.max()
        y = 255 * (x - low) / (high - low) if high > low else np.zeros_like(x)
    return np.clip(np.floor(y + 0.5), 0, 255).astype(np.uint8)


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    document = {"format_version": FORMAT_VERSION, "generator": "Scripts/make_vision_fixtures.py",
                "photos": {}, "kernels": KERNELS, "cases": []}
    crops = {}
    for name, spec in PHOTOS.items():
        photo = read_png(DATA / spec["file"])
        t, l, s = spec["top"], spec["left"], spec["size"]
        crop = photo[t:t + s, l:l + s]
        crops[name] = crop
        document["photos"][name] = dict(spec, channels=int(crop.shape[2]), crop_fnv1a64=str(fnv1a64(crop.tobytes())))
    for case, kernel_name, stride, dilation, pooling, override in CASES:
        kernel = KERNELS[kernel_name]
        mapping = override or mapping_for(kernel)
        outputs = {}
        for photo, crop in crops.items():
            if crop.shape[2] == 3 and case not in RGB_CASES:
                continue
            values = apply(crop.astype(np.float64), kernel, stride, dilation, pooling)
            file = f"{photo}_{case.replace(':', '-')}.png"
            write_png(OUT / file, to_grey_levels(values, mapping))
            outputs[photo] = {"file": file, "height": values.shape[0], "width": values.shape[1],
                              "min": float(values.min()), "max": float(values.max())}
        document["cases"].append({"name": case, "kernel": kernel_name, "stride": stride, "dilation": dilation,
                                  "pooling": pooling and {"kind": pooling[0], "size": pooling[1]},
                                  "mapping": mapping, "outputs": outputs})
    (OUT / "vision.json").write_text(json.dumps(document, separators=(",", ":")) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total // 1024} KiB, to {OUT}")


if __name__ == "__main__":
    main()
