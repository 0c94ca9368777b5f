/* json.c: a strict JSON (RFC 8259) parser into document nodes, for safetensors headers.
 * Objects become MAP nodes (keys in file order), arrays LIST nodes, integers that fit in int64 INT nodes,
 * other numbers NUMBER nodes. Strings without escapes point into the input; others are decoded (UTF-8). */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>

enum { JSON_MAX_DEPTH = 64 };

typedef struct json {
  tn_io_doc *doc;
  const char *begin, *p, *end;
  int depth;
} json;

static int fail(json *j, const char *what) {
  return tn_io_fail(j->doc, "malformed JSON header: %s at byte %lld of the header", what, (long long)(j->p - j->begin));
}

static void skip_space(json *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool literal(json *j, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) return false;
  j->p += n;
  return true;
}

static int hex4(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v << 4 | (uint32_t)d;
  }
  *out = v;
  return 0;
}

static char *put_utf8(char *o, uint32_t c) {
  if (c < 0x80) {
    *o++ = (char)c;
  } else if (c < 0x800) {
    *o++ = (char)(0xc0 | c >> 6);
    *o++ = (char)(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    *o++ = (char)(0xe0 | c >> 12);
    *o++ = (char)(0x80 | (c >> 6 & 0x3f));
    *o++ = (char)(0x80 | (c & 0x3f));
  } else {
    *o++ = (char)(0xf0 | c >> 18);
    *o++ = (char)(0x80 | (c >> 12 & 0x3f));
    *o++ = (char)(0x80 | (c >> 6 & 0x3f));
    *o++ = (char)(0x80 | (c & 0x3f));
  }
  return o;
}

/* A string (j->p at the opening quote) into a STRING node. */
static int32_t string(json *j) {
  const char *start = ++j->p, *q = start;
  bool escaped = false;
  while (q < j->end && *q != '"') {
    if ((unsigned char)*q < 0x20) {
      j->p = q;
      return fail(j, "control character in a string");
    }
    if (*q == '\\') {
      escaped = true;
      q++;
    }
    q++;
  }
  if (q >= j->end) return fail(j, "unterminated string");
  int32_t node = tn_io_node_new(j->doc, TN_IO_STRING);
  if (node < 0) return -1;
  int64_t raw_len = q - start;
  if (!escaped) {
    tn_io_at(j->doc, node)->string.ptr = start;
    tn_io_at(j->doc, node)->string.len = raw_len;
    j->p = q + 1;
    return node;
  }
  /* Decoding never makes a string longer: \uXXXX (6 bytes) is at most 3 bytes, a surrogate pair 4 of 12. */
  char *out = tn_io_alloc(j->doc, raw_len), *o = out;
  if (!out) return -1;
  for (const char *s = start; s < q;) {
    if (*s != '\\') {
      *o++ = *s++;
      continue;
    }
    j->p = s;
    char e = s[1];
    s += 2;
    switch (e) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '/': *o++ = '/'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'n': *o++ = '\n'; break;
    case 'r': *o++ = '\r'; break;
    case 't': *o++ = '\t'; break;
    case 'u': {
      uint32_t c, low;
      if (q - s < 4 || hex4(s, &c)) return fail(j, "bad \\u escape");
      s += 4;
      if (c >= 0xdc00 && c <= 0xdfff) return fail(j, "unpaired surrogate in a \\u escape");
      if (c >= 0xd800 && c <= 0xdbff) {
        if (q - s < 6 || s[0] != '\\' || s[1] != 'u' || hex4(s + 2, &low) || low < 0xdc00 || low > 0xdfff)
          return fail(j, "unpaired surrogate in a \\u escape");
        s += 6;
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      }
      o = put_utf8(o, c);
      break;
    }
    default: return fail(j, "unknown escape in a string");
    }
  }
  tn_io_at(j->doc, node)->string.ptr = out;
  tn_io_at(j->doc, node)->string.len = o - out;
  j->p = q + 1;
  return node;
}

static int32_t number(json *j) {
  const char *s = j->p, *q = s;
  if (q < j->end && *q == '-') q++;
  if (q >= j->end || *q < '0' || *q > '9') return fail(j, "unexpected character");
  if (*q == '0') q++;
  else
    while (q < j->end && *q >= '0' && *q <= '9') q++;
  bool integral = true;
  if (q < j->end && *q == '.') {
    integral = false;
    q++;
    if (q >= j->end || *q < '0' || *q > '9') return fail(j, "malformed number");
    while (q < j->end && *q >= '0' && *q <= '9') q++;
  }
  if (q < j->end && (*q == 'e' || *q == 'E')) {
    integral = false;
    q++;
    if (q < j->end && (*q == '+' || *q == '-')) q++;
    if (q >= j->end || *q < '0' || *q > '9') return fail(j, "malformed number");
    while (q < j->end && *q >= '0' && *q <= '9') q++;
  }
  j->p = q;
  if (integral) { /* exact int64 when it fits */
    int64_t v = 0;
    bool neg = *s == '-', fits = true;
    for (const char *d = s + neg; d < q && fits; d++)
      fits = !__builtin_mul_overflow(v, 10, &v) && !__builtin_sub_overflow(v, *d - '0', &v);
    if (fits && (neg || v != INT64_MIN)) {
      int32_t node = tn_io_node_new(j->doc, TN_IO_INT);
      if (node >= 0) tn_io_at(j->doc, node)->integer = neg ? v : -v;
      return node;
    }
  }
  char buf[64];
  if (q - s >= (int64_t)sizeof buf) return fail(j, "number longer than 63 characters");
  memcpy(buf, s, (size_t)(q - s));
  buf[q - s] = '\0';
  int32_t node = tn_io_node_new(j->doc, TN_IO_NUMBER);
  if (node >= 0) tn_io_at(j->doc, node)->number = strtod(buf, NULL);
  return node;
}

static int32_t value(json *j);

static int32_t container(json *j, bool object) {
  if (++j->depth > JSON_MAX_DEPTH) return fail(j, "nested more than 64 levels deep");
  int32_t node = tn_io_node_new(j->doc, object ? TN_IO_MAP : TN_IO_LIST);
  if (node < 0) return -1;
  char close = object ? '}' : ']';
  j->p++;
  skip_space(j);
  if (j->p < j->end && *j->p == close) {
    j->p++;
    j->depth--;
    return node;
  }
  for (;;) {
    int32_t key = -1;
    skip_space(j);
    if (object) {
      if (j->p >= j->end || *j->p != '"') return fail(j, "expected a string key");
      if ((key = string(j)) < 0) return -1;
      skip_space(j);
      if (j->p >= j->end || *j->p != ':') return fail(j, "expected ':'");
      j->p++;
    }
    int32_t v = value(j);
    if (v < 0 || tn_io_append(j->doc, node, key, v)) return -1;
    skip_space(j);
    if (j->p < j->end && *j->p == ',') {
      j->p++;
      continue;
    }
    if (j->p < j->end && *j->p == close) break;
    return fail(j, object ? "expected ',' or '}'" : "expected ',' or ']'");
  }
  j->p++;
  j->depth--;
  return node;
}

static int32_t value(json *j) {
  skip_space(j);
  if (j->p >= j->end) return fail(j, "unexpected end");
  int32_t node;
  switch (*j->p) {
  case '{': return container(j, true);
  case '[': return container(j, false);
  case '"': return string(j);
  case 't':
  case 'f': {
    bool truth = *j->p == 't';
    if (!literal(j, truth ? "true" : "false")) return fail(j, "unexpected character");
    node = tn_io_node_new(j->doc, TN_IO_BOOL);
    if (node >= 0) tn_io_at(j->doc, node)->boolean = truth;
    return node;
  }
  case 'n':
    if (!literal(j, "null")) return fail(j, "unexpected character");
    return tn_io_node_new(j->doc, TN_IO_NIL);
  default: return number(j);
  }
}

int32_t tn_io_parse_json(tn_io_doc *doc, const char *text, int64_t len) {
  json j = {.doc = doc, .begin = text, .p = text, .end = text + len};
  int32_t root = value(&j);
  if (root < 0) return -1;
  skip_space(&j);
  if (j.p != j.end) return fail(&j, "unexpected characters after the value");
  return root;
}
