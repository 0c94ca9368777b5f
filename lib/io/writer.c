/* writer.c: buffered output in Torch7's binary or ascii layout (the write side of Torch7's THFile).
 *
 * Binary: elements as raw little-endian bytes; large blocks go straight to write(2) from the caller's
 * memory. Ascii: numbers as text separated by spaces, a newline after each call (Torch7's "auto spacing"),
 * and int8/uint8/bool elements as raw bytes followed by a newline, which is how Torch7 writes strings and
 * char/byte storages. A writer opened with a NULL path collects everything in memory. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { BUFFER = 1 << 16 };

struct tn_io_writer {
  int fd;            /* -1: in memory */
  int ascii;
  int failed;
  char *buf;
  int64_t len, cap;
  char message[512]; /* the first failure, reported again by close */
  char path[256];
};

static int writer_fail(tn_io_writer *w, const char *what) {
  if (!w->failed) {
    snprintf(w->message, sizeof w->message, "cannot write '%s': %s", w->path, what);
    w->failed = 1;
  }
  return tn_error("%s", w->message);
}

tn_io_writer *tn_io_writer_open(const char *path, int ascii) {
  tn_io_writer *w = calloc(1, sizeof *w);
  if (!w) return tn_error_null("out of memory");
  w->ascii = ascii != 0;
  w->fd = -1;
  snprintf(w->path, sizeof w->path, "%s", path ? path : "memory");
  w->cap = BUFFER;
  w->buf = malloc((size_t)w->cap);
  if (!w->buf) {
    free(w);
    return tn_error_null("out of memory");
  }
  if (path) {
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
      int e = errno;
      free(w->buf);
      free(w);
      return tn_error_null("cannot open '%s' for writing: %s", path, strerror(e));
    }
  }
  return w;
}

static int write_all(tn_io_writer *w, const char *p, int64_t n) {
  while (n > 0) {
    ssize_t done = write(w->fd, p, (size_t)(n < (1 << 30) ? n : (1 << 30)));
    if (done < 0 && errno == EINTR) continue;
    if (done < 0) return writer_fail(w, strerror(errno));
    p += done;
    n -= done;
  }
  return 0;
}

static int flush(tn_io_writer *w) {
  if (w->fd < 0 || w->len == 0) return 0;
  int rc = write_all(w, w->buf, w->len);
  w->len = 0;
  return rc;
}

/* Room for n more bytes in the buffer (in memory: grows it; to a file: flushes when needed). */
static int reserve(tn_io_writer *w, int64_t n) {
  if (w->len + n <= w->cap) return 0;
  if (w->fd >= 0 && n <= BUFFER) return flush(w);
  int64_t cap = w->cap;
  while (cap < w->len + n) {
    if (cap > INT64_MAX / 2) return writer_fail(w, "too large");
    cap *= 2;
  }
  char *p = realloc(w->buf, (size_t)cap);
  if (!p) return writer_fail(w, "out of memory");
  w->buf = p;
  w->cap = cap;
  return 0;
}

static int put(tn_io_writer *w, const void *data, int64_t n) {
  if (w->fd >= 0 && n >= BUFFER) { /* big blocks: straight from the caller's memory */
    if (flush(w)) return -1;
    return write_all(w, data, n);
  }
  if (reserve(w, n)) return -1;
  if (n > 0) memcpy(w->buf + w->len, data, (size_t)n);
  w->len += n;
  return 0;
}

/* One element as Torch7's ascii text. */
static int format_element(char *out, size_t size, int dtype, const char *p) {
  switch (dtype) {
  case TN_FLOAT64: { double v; memcpy(&v, p, 8); return snprintf(out, size, "%.17g", v); }
  case TN_FLOAT32: { float v; memcpy(&v, p, 4); return snprintf(out, size, "%.9g", (double)v); }
  case TN_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return snprintf(out, size, "%.9g", (double)tn_f16_to_f32(v)); }
  case TN_BFLOAT16: { uint16_t v; memcpy(&v, p, 2); return snprintf(out, size, "%.9g", (double)tn_bf16_to_f32(v)); }
  case TN_INT64: { int64_t v; memcpy(&v, p, 8); return snprintf(out, size, "%" PRId64, v); }
  case TN_INT32: { int32_t v; memcpy(&v, p, 4); return snprintf(out, size, "%" PRId32, v); }
  default: { int16_t v; memcpy(&v, p, 2); return snprintf(out, size, "%d", v); }
  }
}

int tn_io_write(tn_io_writer *w, int dtype, const void *data, int64_t n) {
  if (!w) return tn_error("io_write: NULL writer");
  if (w->failed) return tn_error("%s", w->message);
  if (!tn_valid_dtype(dtype) || n < 0) return tn_error("io_write: bad dtype %d or count %lld", dtype, (long long)n);
  int64_t esize = tn_dtype_size(dtype);
  if (!w->ascii) return put(w, data, n * esize);
  if (n == 0) return 0;
  if (dtype == TN_UINT8 || dtype == TN_INT8 || dtype == TN_BOOL) return put(w, data, n) || put(w, "\n", 1) ? -1 : 0;
  const char *p = data;
  for (int64_t i = 0; i < n; i++) {
    if (reserve(w, 40)) return -1;
    w->len += format_element(w->buf + w->len, 40, dtype, p + i * esize);
    w->buf[w->len++] = i + 1 < n ? ' ' : '\n';
  }
  return 0;
}

const char *tn_io_writer_data(tn_io_writer *w, int64_t *size) {
  *size = w->fd < 0 ? w->len : 0;
  return w->fd < 0 ? w->buf : NULL;
}

int tn_io_writer_close(tn_io_writer *w) {
  if (!w) return 0;
  int rc = w->failed ? -1 : flush(w);
  if (w->fd >= 0 && close(w->fd) != 0 && rc == 0) rc = writer_fail(w, strerror(errno));
  if (rc != 0) tn_error("%s", w->message);
  free(w->buf);
  free(w);
  return rc;
}
