/* error.c: the thread-local error message behind tn_last_error(). */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

const char *tn_last_error(void) { return last_error[0] ? last_error : "unknown error"; }

void tn_clear_error(void) { last_error[0] = '\0'; }

/* Formats through a scratch buffer: callers may pass tn_last_error() itself as an argument, to prefix it. */
static void set_error(const char *fmt, va_list args) {
  char message[sizeof last_error];
  vsnprintf(message, sizeof message, fmt, args);
  memcpy(last_error, message, sizeof message);
}

int tn_error(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_error(fmt, args);
  va_end(args);
  return -1;
}

void *tn_error_null(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  set_error(fmt, args);
  va_end(args);
  return NULL;
}

const char *tn_format_shape(char *buf, size_t size, int ndim, const int64_t *sizes) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, d ? " x %lld" : "%lld", (long long)sizes[d]);
  if (used < size) snprintf(buf + used, size - used, "]");
  return buf;
}

int tn_wrap_dim(const char *fn, int dim, int ndim) {
  int wrapped = dim < 0 ? dim + ndim : dim;
  if (wrapped < 0 || wrapped >= ndim)
    return tn_error("%s: dimension %d out of range for a tensor of %d dimension%s", fn, dim + (dim >= 0),
                    ndim, ndim == 1 ? "" : "s");
  return wrapped;
}
