// stb_image's decoders compiled from Debian's header into the fuzz targets, so that Scripts/fuzz.sh
// builds them with coverage and AddressSanitizer (-Xcc -fsanitize=fuzzer-no-link,address). The
// linker takes these definitions before those of the uninstrumented libstb.so that Fovea links,
// so Image.decode calls this copy: the same source and the same default configuration.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
