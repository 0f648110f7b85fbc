// libFuzzer's driver, callable from a program's own main (libFuzzer ≥ 11). The fuzz targets call it
// from top-level code because SwiftPM links every executable with `main` aliased to the module's
// entry point, so libFuzzer's own `main` cannot be used (swiftlang/swift-package-manager#8731).
#ifndef FOVEA_CFUZZDRIVER_H
#define FOVEA_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
