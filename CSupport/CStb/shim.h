// stb_image (PNG and JPEG decoding) and stb_image_write (PNG encoding) from Debian's libstb-dev,
// whose libstb.so carries the implementations.
#ifndef FOVEA_CSTB_SHIM_H
#define FOVEA_CSTB_SHIM_H
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#endif
