// Intentionally empty: this target only compiles stb_image's implementation (see CFuzzStb.c).
#ifndef FOVEA_CFUZZSTB_H
#define FOVEA_CFUZZSTB_H
#endif
