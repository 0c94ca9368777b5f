/* check.h: a minimal assertion helper for the C tests. */
#ifndef TN_TEST_CHECK_H
#define TN_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond, ...)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      check_failures++;                                                \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                    \
      fputc('\n', stderr);                                             \
    }                                                                  \
  } while (0)

#define CHECK_REPORT(name)                                             \
  (printf("%s: %s (%d failure%s)\n", name, check_failures ? "FAILED" : "ok", check_failures, \
          check_failures == 1 ? "" : "s"),                             \
   check_failures ? 1 : 0)

#endif
