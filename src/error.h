/*
 * error.h - errors travel up as values; one place (main) prints and exits.
 */
#ifndef UD_ERROR_H
#define UD_ERROR_H

/* Exit statuses of userdocker itself (documented in userdocker(1)).
 * Once docker is executed, its own status is the one the caller sees. */
enum ud_exit {
	UD_EX_OK = 0,
	UD_EX_USAGE = 64,    /* malformed command line */
	UD_EX_UNAVAIL = 69,  /* docker daemon unreachable */
	UD_EX_SOFTWARE = 70, /* internal error, policy child died or hit a limit */
	UD_EX_OSERR = 71,    /* system call failed */
	UD_EX_DENIED = 77,   /* refused by policy or by the wrapper's invariants */
	UD_EX_CONFIG = 78,   /* config or policy file unusable */
};

struct ud_err {
	int code;        /* one of enum ud_exit */
	char msg[1024];  /* one line, without the "userdocker: " prefix */
};

/* Set err (printf-style); always returns -1 so callers can
 * `return ud_fail(err, ...)`. */
int ud_fail(struct ud_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, appending ": strerror(errno)" (errno as it was on entry). */
int ud_fail_errno(struct ud_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
