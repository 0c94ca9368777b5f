/* stream_zero.c: zeroing memory without reading it first.
 *
 * An ordinary store to a line that is not in cache reads the line from memory before it writes it (the store
 * needs the line in exclusive state). Streaming stores write whole lines past the cache, so zeroing a cold
 * block costs one pass to memory instead of two. For BLAS's products into a fresh result this is the cheaper
 * way to give ?gemm the zeros it needs: with beta = 0 it zeroes c itself with ordinary stores. */
#include "cpu.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void tn_cpu_stream_zero(void *base, int64_t rows, size_t row_bytes, size_t stride_bytes) {
  for (int64_t r = 0; r < rows; r++) {
    char *p = (char *)base + (size_t)r * stride_bytes, *end = p + row_bytes;
#if defined(__SSE2__)
    char *body = (char *)(((uintptr_t)p + 15) & ~(uintptr_t)15);
    if (body > end) body = end;
    memset(p, 0, (size_t)(body - p));
    __m128i zero = _mm_setzero_si128();
    for (; body + 16 <= end; body += 16) _mm_stream_si128((__m128i *)body, zero);
    memset(body, 0, (size_t)(end - body));
#else
    memset(p, 0, row_bytes);
#endif
  }
#if defined(__SSE2__)
  _mm_sfence(); /* streaming stores are weakly ordered: make them visible before BLAS (or another thread) reads */
#endif
}
