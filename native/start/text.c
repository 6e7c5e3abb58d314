#include "text.h"

/* gcc may emit calls to these for struct copies and zeroing, even when freestanding */
__attribute__((visibility("hidden"))) void *memset(void *d, int c, size_t n) {
  u8 *p = d;
  while (n--) *p++ = (u8)c;
  return d;
}

__attribute__((visibility("hidden"))) void *memcpy(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  while (n--) *p++ = *q++;
  return d;
}

__attribute__((visibility("hidden"))) void *memmove(void *d, const void *s, size_t n) {
  u8 *p = d;
  const u8 *q = s;
  if (p < q) {
    while (n--) *p++ = *q++;
  } else {
    while (n--) p[n] = q[n];
  }
  return d;
}

size_t str_len(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

int str_eq(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

int str_starts(const char *s, const char *prefix) {
  while (*prefix)
    if (*s++ != *prefix++) return 0;
  return 1;
}

int str_copy(char *dst, size_t cap, const char *src) {
  if (!cap) return -ENAMETOOLONG;
  dst[0] = 0;
  return str_append(dst, cap, src);
}

int str_append(char *dst, size_t cap, const char *src) {
  size_t n = str_len(dst);
  while (*src) {
    if (n + 1 >= cap) {
      dst[n] = 0;
      return -ENAMETOOLONG;
    }
    dst[n++] = *src++;
  }
  dst[n] = 0;
  return 0;
}

long parse_id(const char *s, size_t len) {
  if (!len || len > 10) return -1;
  long v = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v > 0xffffffffL ? -1 : v;
}

void text_init(struct text *t, char *buf, size_t cap) {
  t->buf = buf;
  t->cap = cap;
  t->len = 0;
  if (cap) buf[0] = 0;
}

void text_str(struct text *t, const char *s) {
  if (!t->cap) return;
  while (s && *s && t->len + 1 < t->cap) t->buf[t->len++] = *s++;
  t->buf[t->len] = 0;
}

static void text_num(struct text *t, unsigned long v, unsigned base) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  char out[24];
  for (int i = 0; i < n; i++) out[i] = digits[n - 1 - i];
  out[n] = 0;
  text_str(t, out);
}

void text_dec(struct text *t, long v) {
  if (v < 0) {
    text_str(t, "-");
    text_num(t, (unsigned long)-v, 10);
  } else {
    text_num(t, (unsigned long)v, 10);
  }
}

void text_hex(struct text *t, unsigned long v) {
  text_str(t, "0x");
  text_num(t, v, 16);
}

void text_oct(struct text *t, unsigned long v) {
  text_str(t, "0o");
  text_num(t, v, 8);
}
