// The walk behind im2col and col2im, shared by the AVX-512 and AVX2 files: each includes this
// header and calls walk_rows from a function compiled for its instruction set, passing its own
// vector helpers (copy, zero, add `count` floats). walk_rows is always inlined, so the helpers
// become direct calls and are inlined in turn; the walk itself is plain C.
#ifndef FOVEA_IM2COL_WALK_H
#define FOVEA_IM2COL_WALK_H

#include "CFoveaKernels.h"

typedef void (*fovea_copy_floats)(const float *source, float *target, long count);
typedef void (*fovea_zero_floats)(float *target, long count);
typedef void (*fovea_add_floats)(const float *source, float *target, long count);

static inline long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Walks rows firstTap..<firstTap+depth, columns firstColumn..<firstColumn+count of the column
// matrix (row stride `count` in `columns`) row by row (one tap at a time, streaming along the row);
// within a row, one segment per output row p: the stretch where the window is on the image, and
// the padding around it. `scatter` = 0 writes the matrix (im2col: copies, zeros for padding);
// 1 adds it back onto the image (col2im: x[c, ih, iw] += col[t, j], padding entries dropped), in
// the same order as `Im2col.accumulate`, so the sums are the same.
__attribute__((always_inline))
static inline void walk_rows(const fovea_convolution_window *g, float *image, long firstColumn, long count,
                             long firstTap, long depth, float *columns, int scatter,
                             fovea_copy_floats copy_floats, fovea_zero_floats zero_floats, fovea_add_floats add_floats) {
    const long width = g->width, q = g->outputWidth, plane = g->height * width;
    const long sh = g->strideHeight, sw = g->strideWidth;
    const long kw = g->kernelWidth, kh = g->kernelHeight;
    long s = firstTap % kw, r = (firstTap / kw) % kh, c = firstTap / (kw * kh);
    for (long step = 0; step < depth; ++step) {
        const long rowShift = r * g->dilationHeight - g->padHeight;
        const long columnShift = s * g->dilationWidth - g->padWidth;
        // Output columns whose tap lies inside the image: validStart ≤ q' < validEnd.
        long validStart = -floor_div(columnShift, sw);
        if (validStart < 0) validStart = 0;
        long validEnd = floor_div(width - 1 - columnShift, sw) + 1;
        if (validEnd > q) validEnd = q;
        if (validEnd < validStart) validEnd = validStart;
        float *channel = image + c * plane;
        float *row = columns + step * count;
        long p = firstColumn / q, start = firstColumn % q, done = 0;
        while (done < count) {
            const long length = q - start < count - done ? q - start : count - done;
            float *segment = row + done;
            const long ih = p * sh + rowShift;
            if (ih < 0 || ih >= g->height) {
                if (!scatter) zero_floats(segment, length);
            } else {
                const long end = start + length;
                const long copyStart = start > validStart ? (start < end ? start : end) : (validStart < end ? validStart : end);
                const long copyEnd = (end < validEnd ? end : validEnd) > copyStart ? (end < validEnd ? end : validEnd) : copyStart;
                float *pixels = channel + ih * width + copyStart * sw + columnShift;
                float *entries = segment + (copyStart - start);
                const long n = copyEnd - copyStart;
                if (scatter) {
                    if (sw == 1) add_floats(entries, pixels, n);
                    else for (long i = 0; i < n; ++i) pixels[i * sw] += entries[i];
                } else {
                    zero_floats(segment, copyStart - start);
                    if (sw == 1) copy_floats(pixels, entries, n);
                    else for (long i = 0; i < n; ++i) entries[i] = pixels[i * sw];
                    zero_floats(segment + (copyEnd - start), end - copyEnd);
                }
            }
            done += length;
            start = 0;
            p += 1;
        }
        if (++s == kw) {
            s = 0;
            if (++r == kh) { r = 0; c += 1; }
        }
    }
}

#endif
