// zlib, for reading gzip-compressed IDX files (MNIST, Fashion-MNIST).
#ifndef FOVEA_CZLIB_SHIM_H
#define FOVEA_CZLIB_SHIM_H
#include <zlib.h>
#endif
