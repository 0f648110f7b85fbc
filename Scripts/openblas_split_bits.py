#!/usr/bin/env python3
"""Shows why Fovea cuts GEMM work by the shapes and never by the thread count
(Docs/Backends.md, "Threads and reproducibility"): single-threaded OpenBLAS `cblas_sgemm`
rounds some outputs differently when the same product is computed as column or row blocks.

    Scripts/openblas_split_bits.py [path/to/libopenblas.so.0]

For each product C = A·B (row-major, m×k times k×n) it computes C in one call and again as
blocks of columns (and of rows), and prints how many of the m·n outputs differ in their bits and
the largest difference in units in the last place (large for outputs near zero) and relative to
the largest output. Needs NumPy.
"""
import ctypes
import sys

import numpy as np

ROW_MAJOR, NO_TRANS = 101, 111


def load(path):
    lib = ctypes.CDLL(path)
    lib.openblas_set_num_threads(1)
    lib.openblas_get_config.restype = ctypes.c_char_p
    return lib


def sgemm(lib, a, b):
    """C = A·B by one cblas_sgemm call."""
    (m, k), n = a.shape, b.shape[1]
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    c = np.zeros((m, n), np.float32)
    pointer = ctypes.POINTER(ctypes.c_float)
    lib.cblas_sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, ctypes.c_float(1), a.ctypes.data_as(pointer), k,
                    b.ctypes.data_as(pointer), n, ctypes.c_float(0), c.ctypes.data_as(pointer), n)
    return c


def ulps(x, y):
    """Distance in units in the last place between float32 arrays of the same sign pattern."""
    xi, yi = x.view(np.int32).astype(np.int64), y.view(np.int32).astype(np.int64)
    return np.abs(xi - yi)


def main(path):
    lib = load(path)
    print(lib.openblas_get_config().decode())
    rng = np.random.default_rng(0)
    for m, n, k in [(64, 3136, 576), (64, 200, 576), (37, 301, 77), (64, 64, 64)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        whole = sgemm(lib, a, b)
        for axis, size in [("columns", 128), ("columns", 16), ("rows", 8)]:
            if axis == "columns":
                split = np.hstack([sgemm(lib, a, b[:, s:s + size]) for s in range(0, n, size)])
            else:
                split = np.vstack([sgemm(lib, a[s:s + size], b) for s in range(0, m, size)])
            differ = whole.view(np.uint32) != split.view(np.uint32)
            scale = np.abs(whole).max()
            print(f"{m}×{n}×{k} in blocks of {size} {axis}: {differ.sum()} of {m * n} outputs differ "
                  f"({100 * differ.mean():.1f}%), at most {ulps(whole, split).max()} ulp (near-zero outputs), "
                  f"{np.abs(whole - split).max() / scale:.1e} of max |C|")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "libopenblas.so.0")
