// Per-thread, growable, 64-byte-aligned scratch buffers for GEMM packing, so a GEMM called many
// times from the same GCD worker does not allocate (and page-fault) each time.
#include "CFoveaKernels.h"

#include <pthread.h>
#include <stdlib.h>

#define SLOTS 4

typedef struct {
    float *buffer[SLOTS];
    size_t capacity[SLOTS];
} Scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *value) {
    Scratch *scratch = value;
    for (int i = 0; i < SLOTS; ++i) free(scratch->buffer[i]);
    free(scratch);
}

static void scratch_make_key(void) { pthread_key_create(&scratch_key, scratch_free); }

float *fovea_thread_scratch(int slot, size_t floats) {
    if (slot < 0 || slot >= SLOTS) return NULL;
    pthread_once(&scratch_once, scratch_make_key);
    Scratch *scratch = pthread_getspecific(scratch_key);
    if (!scratch) {
        scratch = calloc(1, sizeof(Scratch));
        if (!scratch) return NULL;
        pthread_setspecific(scratch_key, scratch);
    }
    if (scratch->capacity[slot] < floats) {
        free(scratch->buffer[slot]);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        scratch->buffer[slot] = aligned_alloc(64, bytes);
        scratch->capacity[slot] = scratch->buffer[slot] ? floats : 0;
    }
    return scratch->buffer[slot];
}
