#!/usr/bin/env python3
"""Reference values for Fovea's tests, computed with NumPy.

Writes Tests/FoveaTests/Fixtures/conv2d_numpy.json: for a handful of convolution
configurations (stride, padding, dilation, groups, non-square), the inputs (drawn from a seeded
NumPy generator) and NumPy's forward output and gradients with respect to the input, the weight
and the bias, for the loss L = sum(output * grad_output).

Regenerate with:  python3 Scripts/make_fixtures.py     (needs numpy)

The convolution here is written independently of Fovea: it gathers the dilated, strided windows
of the zero-padded input with NumPy indexing and contracts them with np.einsum; the gradients use
np.add.at to scatter back. Everything is computed in float64 and stored as float32-rounded
decimals.
"""
import json
import pathlib

import numpy as np

FORMAT_VERSION = 1
OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "FoveaTests" / "Fixtures" / "conv2d_numpy.json"

CASES = [
    # name, input NCHW, out channels, kernel (R, S), stride, padding, dilation, groups
    ("basic_3x3", (2, 3, 7, 7), 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    ("strided_nonsquare", (1, 2, 9, 6), 3, (3, 2), (2, 1), (1, 0), (1, 1), 1),
    ("dilated_padded", (2, 2, 8, 9), 2, (3, 3), (1, 2), (2, 3), (2, 1), 1),
    ("grouped", (1, 4, 6, 6), 6, (3, 3), (1, 1), (1, 1), (1, 1), 2),
    ("depthwise_strided", (2, 3, 7, 8), 3, (3, 3), (3, 2), (1, 1), (1, 2), 3),
    ("pointwise", (2, 5, 4, 3), 3, (1, 1), (1, 1), (0, 0), (1, 1), 1),
]


def windows(x, kernel, stride, padding, dilation):
    """Returns (cols, indices): cols[n, c, r, s, p, q] = padded x at the tap (r, s) of output (p, q)."""
    n, c, h, w = x.shape
    (kr, ks), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    padded[:, :, ph:ph + h, pw:pw + w] = x
    p_out = (h + 2 * ph - dh * (kr - 1) - 1) // sh + 1
    q_out = (w + 2 * pw - dw * (ks - 1) - 1) // sw + 1
    rows = (np.arange(kr)[:, None] * dh + np.arange(p_out)[None, :] * sh)  # [R, P]
    cols = (np.arange(ks)[:, None] * dw + np.arange(q_out)[None, :] * sw)  # [S, Q]
    gathered = padded[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # [N, C, R, S, P, Q]
    return gathered, rows, cols, padded.shape


def conv_case(rng, name, shape, out_channels, kernel, stride, padding, dilation, groups):
    n, c, h, w = shape
    cg, kg = c // groups, out_channels // groups
    x = rng.standard_normal(shape).astype(np.float32).astype(np.float64)
    weight = (rng.standard_normal((out_channels, cg) + kernel) * 0.5).astype(np.float32).astype(np.float64)
    bias = rng.standard_normal(out_channels).astype(np.float32).astype(np.float64)

    cols, rows, colidx, padded_shape = windows(x, kernel, stride, padding, dilation)
    p_out, q_out = cols.shape[4], cols.shape[5]
    out = np.zeros((n, out_channels, p_out, q_out))
    for g in range(groups):
        xg = cols[:, g * cg:(g + 1) * cg]
        wg = weight[g * kg:(g + 1) * kg]
        out[:, g * kg:(g + 1) * kg] = np.einsum("ncrspq,kcrs->nkpq", xg, wg)
    out += bias[None, :, None, None]

    grad_out = rng.standard_normal(out.shape).astype(np.float32).astype(np.float64)
    grad_bias = grad_out.sum(axis=(0, 2, 3))
    grad_weight = np.zeros_like(weight)
    grad_cols = np.zeros_like(cols)
    for g in range(groups):
        xg = cols[:, g * cg:(g + 1) * cg]
        dyg = grad_out[:, g * kg:(g + 1) * kg]
        grad_weight[g * kg:(g + 1) * kg] = np.einsum("ncrspq,nkpq->kcrs", xg, dyg)
        grad_cols[:, g * cg:(g + 1) * cg] = np.einsum("kcrs,nkpq->ncrspq", weight[g * kg:(g + 1) * kg], dyg)
    grad_padded = np.zeros(padded_shape)
    np.add.at(grad_padded, (slice(None), slice(None), rows[:, None, :, None], colidx[None, :, None, :]), grad_cols)
    ph, pw = padding
    grad_x = grad_padded[:, :, ph:ph + h, pw:pw + w]

    def flat(a):
        return [float(np.float32(v)) for v in np.asarray(a).ravel()]

    return {
        "name": name,
        "input_shape": list(shape),
        "weight_shape": list(weight.shape),
        "stride": list(stride),
        "padding": list(padding),
        "dilation": list(dilation),
        "groups": groups,
        "input": flat(x),
        "weight": flat(weight),
        "bias": flat(bias),
        "grad_output": flat(grad_out),
        "output_shape": list(out.shape),
        "output": flat(out),
        "grad_input": flat(grad_x),
        "grad_weight": flat(grad_weight),
        "grad_bias": flat(grad_bias),
    }


def main():
    rng = np.random.default_rng(20261126)
    cases = [conv_case(rng, *case) for case in CASES]
    document = {
        "format_version": FORMAT_VERSION,
        "generator": "Scripts/make_fixtures.py",
        "regenerate": "python3 Scripts/make_fixtures.py",
        "numpy_version": np.__version__,
        "loss": "L = sum(output * grad_output)",
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
