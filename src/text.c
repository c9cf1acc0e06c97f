/*
 * text.c - small text helpers shared by the stages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "userdocker.h"

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len, k;
		unsigned long cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			len = 2, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			len = 3, cp = c & 0x0f;
		else if ((c & 0xf8) == 0xf0)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* One sequence's length at s (valid UTF-8), or 0 when it is not valid. */
static size_t utf8_seq(const char *s, size_t left)
{
	size_t len;

	if ((unsigned char)*s < 0x80)
		return 1;
	for (len = 2; len <= 4 && len <= left; len++)
		if (utf8_valid(s, len))
			return len;
	return 0;
}

char *utf8_sanitize(const char *s)
{
	size_t n = strlen(s), i = 0, o = 0;
	char *out = malloc(4 * n + 1);

	if (!out)
		return NULL;
	while (i < n) {
		size_t len = utf8_seq(s + i, n - i);

		if (len == 0) {
			snprintf(out + o, 5, "\\x%02x", (unsigned char)s[i]);
			o += 4;
			i++;
		} else {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		}
	}
	out[o] = '\0';
	return out;
}

/* One line for a log or a terminal: utf8_sanitize, and control characters
 * (newline, escape, ...) as \xNN too, so that nothing can end the line or
 * drive the terminal. */
char *text_printable(const char *s)
{
	char *clean = utf8_sanitize(s), *out;
	size_t i, o = 0, n;

	if (!clean)
		return NULL;
	n = strlen(clean);
	out = malloc(4 * n + 1);
	if (out) {
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)clean[i];

			if (c < 0x20 || c == 0x7f) {
				snprintf(out + o, 5, "\\x%02x", c);
				o += 4;
			} else {
				out[o++] = (char)c;
			}
		}
		out[o] = '\0';
	}
	free(clean);
	return out;
}
