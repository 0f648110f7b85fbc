// The 1-D Winograd transforms shared by the vector tile transforms (winograd_avx512.c,
// winograd_avx2.c): those of `WinogradF4x4` and `WinogradF2x2` in the same operation order, so
// that (with FP contraction off in the including file) their results equal the Swift code's bit
// for bit. The including file defines, before including this header:
//   WINOGRAD_VECTOR  the vector type (its lanes carry independent tiles), with + − × operators;
//   WINOGRAD_SPLAT   a macro from a float to that vector;
//   WINOGRAD_TARGET  the target attribute string the functions are compiled for.
#ifndef FOVEA_WINOGRAD_1D_H
#define FOVEA_WINOGRAD_1D_H

typedef WINOGRAD_VECTOR winograd_vector;

// out[i·os] = Σⱼ Bᵀ[i][j] · d[j·s]   (WinogradF4x4.input)
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void input_1d(const winograd_vector *d, int s, winograd_vector *out, int os) {
    const winograd_vector d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s], d5 = d[5 * s];
    const winograd_vector a = d4 - WINOGRAD_SPLAT(4) * d2, b = d3 - WINOGRAD_SPLAT(4) * d1;
    const winograd_vector c = d4 - d2, e = WINOGRAD_SPLAT(2) * (d3 - d1);
    out[0] = WINOGRAD_SPLAT(4) * d0 - WINOGRAD_SPLAT(5) * d2 + d4;
    out[os] = a + b;
    out[2 * os] = a - b;
    out[3 * os] = c + e;
    out[4 * os] = c - e;
    out[5 * os] = WINOGRAD_SPLAT(4) * d1 - WINOGRAD_SPLAT(5) * d3 + d5;
}

// out[i·os] = Σⱼ Aᵀ[i][j] · v[j·s], i < 4   (WinogradF4x4.output)
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void output_1d(const winograd_vector *v, int s, winograd_vector *out, int os) {
    const winograd_vector v0 = v[0], v1 = v[s], v2 = v[2 * s], v3 = v[3 * s], v4 = v[4 * s], v5 = v[5 * s];
    const winograd_vector sum12 = v1 + v2, difference12 = v1 - v2;
    const winograd_vector sum34 = v3 + v4, difference34 = v3 - v4;
    out[0] = v0 + sum12 + sum34;
    out[os] = difference12 + WINOGRAD_SPLAT(2) * difference34;
    out[2 * os] = sum12 + WINOGRAD_SPLAT(4) * sum34;
    out[3 * os] = difference12 + WINOGRAD_SPLAT(8) * difference34 + v5;
}

// out[i·os] = Σⱼ Bᵀ[i][j] · d[j·s]   (WinogradF2x2.input)
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void input2_1d(const winograd_vector *d, int s, winograd_vector *out, int os) {
    const winograd_vector d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    out[0] = d0 - d2;
    out[os] = d1 + d2;
    out[2 * os] = d2 - d1;
    out[3 * os] = d1 - d3;
}

// out[i·os] = Σⱼ Aᵀ[i][j] · v[j·s], i < 2   (WinogradF2x2.output)
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void output2_1d(const winograd_vector *v, int s, winograd_vector *out, int os) {
    const winograd_vector v0 = v[0], v1 = v[s], v2 = v[2 * s], v3 = v[3 * s];
    out[0] = v0 + v1 + v2;
    out[os] = v1 - v2 - v3;
}

// The input transform of m×m output tiles (m = 4 or 2, a compile-time constant after inlining).
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void input_1d_of(const int m, const winograd_vector *d, int s, winograd_vector *out, int os) {
    if (m == 4) input_1d(d, s, out, os); else input2_1d(d, s, out, os);
}

// The output transform of m×m output tiles.
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void output_1d_of(const int m, const winograd_vector *v, int s, winograd_vector *out, int os) {
    if (m == 4) output_1d(v, s, out, os); else output2_1d(v, s, out, os);
}

// The 2-D input transform of one patch of α×α vectors (α = m + 2), in place: columns first
// (Bᵀ·d), then rows ((Bᵀ·d)·B), as `WinogradTiles.transformInput`.
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void input_2d(const int m, winograd_vector *d) {
    const int alpha = m + 2;
    winograd_vector columns[36];
    for (int j = 0; j < alpha; ++j) input_1d_of(m, d + j, alpha, columns + j, alpha);
    for (int i = 0; i < alpha; ++i) input_1d_of(m, columns + i * alpha, 1, d + i * alpha, 1);
}

// The 2-D output transform: o[i·m + j] (m×m) = ((Aᵀ·p)·A)[i][j] of the α×α products p, as
// `WinogradTiles.transformOutput`.
__attribute__((target(WINOGRAD_TARGET), always_inline))
static inline void output_2d(const int m, const winograd_vector *p, winograd_vector *o) {
    const int alpha = m + 2;
    winograd_vector columns[24];
    for (int j = 0; j < alpha; ++j) output_1d_of(m, p + j, alpha, columns + j, alpha);  // Aᵀ·M: m×α
    for (int i = 0; i < m; ++i) output_1d_of(m, columns + i * alpha, 1, o + i * m, 1);  // (Aᵀ·M)·A: m×m
}

#endif
