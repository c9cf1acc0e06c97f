/*
 * wire.c - framing for wire.h.  Every length is checked against the
 * maxima before anything is allocated, so a confused or hostile peer can
 * only make us fail, never overrun or allocate without bound.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "request.h"
#include "wire.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void put_u32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static int received_fds[WIRE_MAX_FDS];
static size_t nreceived_fds;

void wire_take_fds(int *fds, size_t *nfds)
{
	memcpy(fds, received_fds, nreceived_fds * sizeof *fds);
	*nfds = nreceived_fds;
	nreceived_fds = 0;
}

/* The header goes out with the descriptors attached to its first byte. */
static int send_header(int fd, const unsigned char *hdr, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
	} ctl;
	struct iovec iov = { (void *)hdr, 4 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t w;

	if (nfds) {
		memset(&ctl, 0, sizeof ctl);
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		w = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -1;
	return w == 4 ? 0 : write_all(fd, hdr + w, 4 - (size_t)w);
}

int wire_send(int fd, char *const *v, size_t n, const int *fds, size_t nfds,
	      struct ud_err *err)
{
	unsigned char hdr[4];
	size_t total = 0, i;

	if (nfds > WIRE_MAX_FDS)
		return ud_fail(err, UD_EX_DENIED, "too many mounts (at most %d)", WIRE_MAX_FDS);

	if (n > WIRE_MAX_STRINGS)
		return ud_fail(err, UD_EX_SOFTWARE, "message has too many parts (%zu)", n);
	for (i = 0; i < n; i++) {
		size_t len = strlen(v[i]);

		if (len > WIRE_MAX_BYTES || total + len + 4 > WIRE_MAX_BYTES)
			return ud_fail(err, UD_EX_SOFTWARE, "message too large");
		total += len + 4;
	}
	put_u32(hdr, (uint32_t)n);
	if (send_header(fd, hdr, fds, nfds))
		return ud_fail_errno(err, UD_EX_SOFTWARE, "cannot send message");
	for (i = 0; i < n; i++) {
		size_t len = strlen(v[i]);

		put_u32(hdr, (uint32_t)len);
		if (write_all(fd, hdr, 4) || write_all(fd, v[i], len))
			return ud_fail_errno(err, UD_EX_SOFTWARE, "cannot send message");
	}
	return 0;
}

/* Read exactly len bytes before the deadline; 0 on success. */
static int read_full(int fd, void *buf, size_t len, const struct timespec *deadline)
{
	char *p = buf;

	while (len) {
		struct timespec now;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long ms;
		ssize_t r;
		int pr;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		     (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		pr = poll(&pfd, 1, ms > 1000 ? 1000 : (int)ms);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pr == 0)
			continue;
		r = read(fd, p, len);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EPIPE;
			return -1;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* Keep what SCM_RIGHTS brought; anything malformed is closed and refused. */
static int collect_fds(struct msghdr *msg)
{
	struct cmsghdr *c;
	int bad = (msg->msg_flags & MSG_CTRUNC) != 0;

	for (c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t k, cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < cnt; k++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof got);
			if (nreceived_fds < WIRE_MAX_FDS)
				received_fds[nreceived_fds++] = got;
			else {
				close(got);
				bad = 1;
			}
		}
	}
	return bad ? -1 : 0;
}

/* The header, with whatever descriptors came along with it. */
static int read_header(int fd, unsigned char *hdr, const struct timespec *deadline)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
	} ctl;
	struct iovec iov = { hdr, 4 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	ssize_t r;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec now;
		long ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (deadline->tv_sec - now.tv_sec) * 1000 +
		     (deadline->tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, ms > 1000 ? 1000 : (int)ms) <= 0)
			continue;
		r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		break;
	}
	if (r < 0)
		return -1;
	if (r == 0) {
		errno = EPIPE;
		return -1;
	}
	if (collect_fds(&msg)) {
		errno = EPROTO;
		return -1;
	}
	return read_full(fd, hdr + r, 4 - (size_t)r, deadline);
}

int wire_recv(int fd, const struct timespec *deadline, char ***out,
	      size_t *n, struct ud_err *err)
{
	unsigned char hdr[4];
	uint32_t count, i;
	size_t total = 0;
	char **v;

	*out = NULL;
	*n = 0;
	if (read_header(fd, hdr, deadline))
		goto io_error;
	count = get_u32(hdr);
	if (count > WIRE_MAX_STRINGS)
		return ud_fail(err, UD_EX_SOFTWARE, "malformed message (%u parts)", count);
	v = calloc((size_t)count + 1, sizeof *v);
	if (!v)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	for (i = 0; i < count; i++) {
		uint32_t len;

		if (read_full(fd, hdr, 4, deadline)) {
			strv_free(v);
			goto io_error;
		}
		len = get_u32(hdr);
		total += (size_t)len + 4;
		if (len > WIRE_MAX_BYTES || total > WIRE_MAX_BYTES) {
			strv_free(v);
			return ud_fail(err, UD_EX_SOFTWARE, "malformed message (too large)");
		}
		v[i] = malloc((size_t)len + 1);
		if (!v[i]) {
			strv_free(v);
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		}
		if (read_full(fd, v[i], len, deadline)) {
			strv_free(v);
			goto io_error;
		}
		v[i][len] = '\0';
		if (memchr(v[i], '\0', len)) {
			strv_free(v);
			return ud_fail(err, UD_EX_SOFTWARE, "malformed message (NUL byte)");
		}
	}
	*out = v;
	*n = count;
	return 0;
io_error:
	if (errno == ETIMEDOUT)
		return ud_fail(err, UD_EX_SOFTWARE, "timed out");
	if (errno == EPIPE)
		return ud_fail(err, UD_EX_SOFTWARE, "no answer");
	return ud_fail_errno(err, UD_EX_SOFTWARE, "cannot read");
}
