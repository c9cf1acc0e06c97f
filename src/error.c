/*
 * error.c - building error values (see error.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static int vfail(struct ud_err *err, int code, int errnum, const char *fmt,
		 va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(struct ud_err *err, int code, int errnum, const char *fmt,
		 va_list ap)
{
	int n;

	if (!err)
		return -1;
	err->code = code;
	n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	if (n < 0)
		err->msg[0] = '\0';
	if (errnum) {
		size_t len = strlen(err->msg);

		snprintf(err->msg + len, sizeof err->msg - len, ": %s",
			 strerror(errnum));
	}
	return -1;
}

int ud_fail(struct ud_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int ud_fail_errno(struct ud_err *err, int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vfail(err, code, saved, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}
