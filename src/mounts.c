/*
 * mounts.c - see mounts.h.
 *
 * MUST: sources are opened by the caller with openat2(RESOLVE_NO_SYMLINKS
 * | RESOLVE_NO_MAGICLINKS), so the caller can only mount what they can
 * open and a symlink swapped in anywhere in the path fails the open; root
 * accepts a descriptor only if it is a directory or regular file whose
 * kernel path is exactly the approved source; every bind in the request
 * must have its descriptor, or nothing runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mounts.h"
#include "userdocker.h"

int mount_bind_source(const char *value, char *src, size_t size)
{
	const char *colon = strchr(value, ':');
	size_t len;

	if (value[0] != '/' || !colon)
		return 0;
	len = (size_t)(colon - value);
	if (len >= size)
		return 0;
	memcpy(src, value, len);
	src[len] = '\0';
	return 1;
}

int mounts_open(const struct ud_request *r, int *fds, size_t *nfds, struct ud_err *err)
{
	size_t i;

	*nfds = 0;
	for (i = 0; i < r->nopts; i++) {
		struct open_how how = {
			.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
			.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};
		char src[PATH_MAX];
		long fd;

		if (strcmp(r->opts[i].flag->name, "--volume") != 0 ||
		    !mount_bind_source(r->opts[i].value, src, sizeof src))
			continue;
		if (*nfds >= WIRE_MAX_FDS)
			return ud_fail(err, UD_EX_DENIED, "too many mounts (at most %d)", WIRE_MAX_FDS);
		fd = syscall(SYS_openat2, AT_FDCWD, src, &how, sizeof how);
		if (fd < 0) {
			if (errno == ELOOP || errno == EXDEV)
				return ud_fail(err, UD_EX_DENIED,
					       "mount source changed while being checked (a symbolic link appeared): %s",
					       src);
			return ud_fail_errno(err, UD_EX_DENIED, "cannot open mount source %s", src);
		}
		fds[(*nfds)++] = (int)fd;
	}
	return 0;
}

static int fd_is(int fd, const char *src, struct stat *st, struct ud_err *err)
{
	char link[64], real[PATH_MAX];
	ssize_t len;

	if (fstat(fd, st))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot check mount source %s", src);
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode))
		return ud_fail(err, UD_EX_DENIED,
			       "mount not allowed: %s (only directories and regular files can be mounted)",
			       src);
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	len = readlink(link, real, sizeof real - 1);
	if (len < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot check mount source %s", src);
	real[len] = '\0';
	if (strcmp(real, src) != 0)
		return ud_fail(err, UD_EX_DENIED,
			       "mount source changed while being checked: %s (now %s)", src, real);
	return 0;
}

static int make_stage_dir(struct ud_stage *st, struct ud_err *err)
{
	unsigned char rnd[8];
	int fd;

	if (mkdir(UD_STAGING_DIR, 0700) && errno != EEXIST)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot create %s", UD_STAGING_DIR);
	if (trusted_dir(UD_STAGING_DIR, err))
		return -1;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
		if (fd >= 0)
			close(fd);
		return ud_fail_errno(err, UD_EX_OSERR, "cannot read /dev/urandom");
	}
	close(fd);
	snprintf(st->dir, sizeof st->dir, "%s/%d-%02x%02x%02x%02x%02x%02x%02x%02x", UD_STAGING_DIR,
		 (int)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (mkdir(st->dir, 0700))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot create %s", st->dir);
	return 0;
}

int mounts_stage(struct ud_request *r, const int *fds, size_t nfds, struct ud_stage *st,
		 struct ud_err *err)
{
	size_t i, k = 0;

	st->n = 0;
	st->dir[0] = '\0';
	for (i = 0; i < r->nopts; i++) {
		char src[PATH_MAX], procfd[64], *nv;
		const char *rest;
		struct stat sb;

		if (strcmp(r->opts[i].flag->name, "--volume") != 0 ||
		    !mount_bind_source(r->opts[i].value, src, sizeof src))
			continue;
		if (k >= nfds)
			return ud_fail(err, UD_EX_SOFTWARE, "mount %s came without its checked source",
				       r->opts[i].value);
		if (fd_is(fds[k], src, &sb, err))
			return -1;
		if (!st->dir[0] && make_stage_dir(st, err))
			return -1;
		if (snprintf(st->targets[k], sizeof st->targets[k], "%s/%zu", st->dir, k) >=
		    (int)sizeof st->targets[k])
			return ud_fail(err, UD_EX_OSERR, "staging path too long");
		if (S_ISDIR(sb.st_mode) ? mkdir(st->targets[k], 0700)
					: mknod(st->targets[k], S_IFREG | 0600, 0))
			return ud_fail_errno(err, UD_EX_OSERR, "cannot create %s", st->targets[k]);
		st->n = k + 1;
		snprintf(procfd, sizeof procfd, "/proc/self/fd/%d", fds[k]);
		/* Recursive, as docker's own -v binds are. */
		if (mount(procfd, st->targets[k], NULL, MS_BIND | MS_REC, NULL))
			return ud_fail_errno(err, UD_EX_OSERR, "cannot stage mount source %s", src);
		rest = r->opts[i].value + strlen(src);
		if (asprintf(&nv, "%s%s", st->targets[k], rest) < 0)
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		free(r->opts[i].value);
		r->opts[i].value = nv;
		k++;
	}
	if (k != nfds)
		return ud_fail(err, UD_EX_SOFTWARE, "policy sent %zu mount sources for %zu mounts",
			       nfds, k);
	return 0;
}

void mounts_unstage(struct ud_stage *st)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		struct stat sb;

		umount2(st->targets[i], MNT_DETACH);
		if (lstat(st->targets[i], &sb) == 0)
			S_ISDIR(sb.st_mode) ? rmdir(st->targets[i]) : unlink(st->targets[i]);
	}
	if (st->dir[0])
		rmdir(st->dir);
	st->n = 0;
}
