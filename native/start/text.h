/* The few string routines the start code needs, and a bounded text builder for failure details. */
#ifndef MFS_TEXT_H
#define MFS_TEXT_H
#include "sys.h"

size_t str_len(const char *s);
int str_eq(const char *a, const char *b);
int str_starts(const char *s, const char *prefix);
/* copies at most cap-1 bytes and terminates; returns 0, or -ENAMETOOLONG when it did not fit */
int str_copy(char *dst, size_t cap, const char *src);
int str_append(char *dst, size_t cap, const char *src);
/* an unsigned decimal number from the whole of s[0..len); -1 when it is not one (or too large) */
long parse_id(const char *s, size_t len);

struct text {
  char *buf;
  size_t cap, len;
};
void text_init(struct text *t, char *buf, size_t cap);
void text_str(struct text *t, const char *s);
void text_dec(struct text *t, long v);
void text_hex(struct text *t, unsigned long v);
void text_oct(struct text *t, unsigned long v);

#endif
