/*
 * wire.h - the one message format between the policy child and the root
 * parent: a vector of byte strings, length-prefixed, with a maximum size
 * checked on both sides (OpenSSH monitor style framing).
 */
#ifndef UD_WIRE_H
#define UD_WIRE_H

#include <stddef.h>
#include <time.h>

#include "error.h"

#define WIRE_MAX_BYTES (64u << 20)
#define WIRE_MAX_STRINGS 300000u

#define WIRE_MAX_FDS 64

/* Write v[0..n) to fd as one message, passing fds[0..nfds) along with it
 * (SCM_RIGHTS).  Returns 0 or -1 (err set). */
int wire_send(int fd, char *const *v, size_t n, const int *fds, size_t nfds,
	      struct ud_err *err);

/*
 * Read one message from fd, waiting at most until the CLOCK_MONOTONIC
 * deadline.  *out is a NULL-terminated vector of NUL-terminated strings
 * (a string containing a NUL byte is an error); free with strv_free.
 * Returns 0, or -1 with err set; a timeout sets errno = ETIMEDOUT.
 */
int wire_recv(int fd, const struct timespec *deadline, char ***out,
	      size_t *n, struct ud_err *err);

/* The descriptors that came with the last message wire_recv() read
 * (owned by the caller from now on, O_CLOEXEC); *nfds may be 0. */
void wire_take_fds(int *fds, size_t *nfds);

#endif
