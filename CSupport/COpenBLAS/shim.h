// The C surface of Debian's OpenBLAS (cblas) and LAPACKE, for Swift.
// Debian builds OpenBLAS without LAPACKE, so liblapacke is linked separately.
#ifndef FOVEA_COPENBLAS_SHIM_H
#define FOVEA_COPENBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
