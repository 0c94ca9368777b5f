/* streaming.c: writing memory that will not be read first, with streaming stores.
 *
 * An ordinary store to a line that is not in cache first reads the line from memory (the store needs the
 * line in exclusive state), and the line goes back to memory later: two transfers. A streaming store writes
 * whole lines past the cache: one transfer. That wins wherever the destination is cold, and loses where the
 * next reader would have found the lines in cache. Two uses here:
 *  - BLAS's products into a fresh result get their zeros this way (blas.c): a fresh result is cold, and ?gemm
 *    reads the whole of C right after anyway.
 *  - Element-wise ops whose result is larger than any cache keeps (TN_STREAM_RESULT_BYTES) compute each chunk
 *    into a small buffer that stays in L1, then stream it out. */
#include "cpu.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* dst[0..bytes) = src[0..bytes), or zeros when src is NULL, with ordinary stores. */
static void plain_out(char *dst, const char *src, size_t bytes) {
  if (src)
    memcpy(dst, src, bytes);
  else
    memset(dst, 0, bytes);
}

/* The same with streaming stores where dst is 16-byte aligned, ordinary ones for the ends. The caller fences. */
static void stream_out(char *dst, const char *src, size_t bytes) {
  char *end = dst + bytes;
#if defined(__SSE2__)
  char *body = (char *)(((uintptr_t)dst + 15) & ~(uintptr_t)15);
  if (body > end) body = end;
  plain_out(dst, src, (size_t)(body - dst));
  if (src) src += body - dst;
  for (; body + 16 <= end; body += 16) {
    __m128i v = src ? _mm_loadu_si128((const __m128i *)src) : _mm_setzero_si128();
    _mm_stream_si128((__m128i *)body, v);
    if (src) src += 16;
  }
  dst = body;
#endif
  plain_out(dst, src, (size_t)(end - dst));
}

static void fence(void) {
#if defined(__SSE2__)
  _mm_sfence(); /* streaming stores are weakly ordered: make them visible before anyone reads */
#endif
}

void tn_cpu_stream_zero(void *base, int64_t rows, size_t row_bytes, size_t stride_bytes) {
  for (int64_t r = 0; r < rows; r++) stream_out((char *)base + (size_t)r * stride_bytes, NULL, row_bytes);
  fence();
}

/* A chunk of results: 16 KB, which stays in L1 between the kernel's writes and the copy's reads. */
enum { CHUNK_BYTES = 16384 };

void tn_cpu_streamed_loop(char **data, const int64_t *strides, int64_t n, void *context) {
  const tn_streamed *s = context;
  int64_t es = s->esize;
  if (strides[0] != es) { /* not a contiguous run of results (the iterator put another dim innermost) */
    s->fn(data, strides, n, s->ctx);
    return;
  }
  _Alignas(64) char chunk[CHUNK_BYTES];
  char *ptr[TN_ITER_MAX_OPS];
  for (int k = 1; k < s->nops; k++) ptr[k] = data[k];
  int64_t per_chunk = CHUNK_BYTES / es;
  for (int64_t i = 0; i < n; i += per_chunk) {
    int64_t m = n - i < per_chunk ? n - i : per_chunk;
    ptr[0] = chunk;
    s->fn(ptr, strides, m, s->ctx);
    stream_out(data[0] + i * es, chunk, (size_t)(m * es));
    for (int k = 1; k < s->nops; k++) ptr[k] += m * strides[k];
  }
  fence();
}
