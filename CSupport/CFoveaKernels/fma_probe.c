// A floating-point peak probe: twelve independent chains of 8-wide fused multiply-adds, enough
// to keep both FMA pipes of a core busy despite their latency. Used by fovea-bench to measure the
// machine's peak FP32 rate and to wait until every core runs at full speed before timing.
#include "CFoveaKernels.h"

#include <immintrin.h>

__attribute__((target("avx2,fma")))
float fovea_fma_probe_avx2(long iterations) {
    __m256 acc[12];
    const __m256 mul = _mm256_set1_ps(0.999999f);
    const __m256 add = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iterations; ++it) {
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, sum);
    return out[0] + out[7];
}

int fovea_cpu_has_avx512f(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f");
    }
    return cached;
}

// The same probe with 16-wide AVX-512 FMAs: on cores with full-width AVX-512 units (AMD Zen 5,
// Intel server cores) this is twice the AVX2 rate; on Zen 4 (double-pumped) it is the same.
__attribute__((target("avx512f")))
float fovea_fma_probe_avx512(long iterations) {
    __m512 acc[12];
    const __m512 mul = _mm512_set1_ps(0.999999f);
    const __m512 add = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iterations; ++it) {
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
    }
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}
