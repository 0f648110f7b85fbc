#!/usr/bin/env python3
"""Checks the Winograd matrices of Sources/FoveaKernels/Winograd/WinogradTransform.swift in float64.

For F(2x2,3x3) and F(4x4,3x3), with the Bt, G, At written in the Swift doc comments, the tile
At [(G g Gt) * (Bt d B)] A must equal the valid 3x3 correlation of the alpha x alpha patch d with
the filter g. Prints the largest difference over random patches and filters (float64 rounding,
~1e-14) and exits non-zero if any exceeds 1e-9.

Usage: python3 Scripts/winograd_matrices.py
"""
import sys
import numpy as np

MATRICES = {
    "F(2x2,3x3)": (
        [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
        [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
        [[1, 1, 1, 0], [0, 1, -1, -1]],
    ),
    "F(4x4,3x3)": (
        [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
         [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
        [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
         [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
        [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
    ),
}


def correlate_valid(d, g):
    m = d.shape[0] - 2
    return np.array([[np.sum(d[i:i + 3, j:j + 3] * g) for j in range(m)] for i in range(m)])


def main():
    rng = np.random.default_rng(2026)
    ok = True
    for name, (bt, g_matrix, at) in MATRICES.items():
        bt, g_matrix, at = (np.array(x, dtype=np.float64) for x in (bt, g_matrix, at))
        worst = 0.0
        for _ in range(200):
            alpha = bt.shape[0]
            d = rng.standard_normal((alpha, alpha))
            g = rng.standard_normal((3, 3))
            u = g_matrix @ g @ g_matrix.T
            v = bt @ d @ bt.T
            y = at @ (u * v) @ at.T
            worst = max(worst, np.max(np.abs(y - correlate_valid(d, g))))
        print(f"{name}: max |winograd - direct| = {worst:.2e} (float64)")
        ok &= worst < 1e-9
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
