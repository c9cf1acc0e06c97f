/*
 * mounts.h - bind mounts that cannot be swapped after the check.
 *
 * The policy child opens every bind source as the caller (no symlink
 * followed anywhere in the path) and hands the descriptors to root.  Root
 * checks that each descriptor is the approved path, binds it under a
 * root-owned staging directory and gives docker that path instead: what
 * the daemon mounts is the very inode the caller opened, whatever happens
 * to the original path afterwards.
 */
#ifndef UD_MOUNTS_H
#define UD_MOUNTS_H

#include <limits.h>
#include <stddef.h>

#include "request.h"
#include "wire.h"

#ifndef UD_STAGING_DIR
#define UD_STAGING_DIR "/run/userdocker"
#endif

struct ud_stage {
	char dir[PATH_MAX];                   /* this run's staging directory */
	char targets[WIRE_MAX_FDS][PATH_MAX]; /* mounted staging points */
	size_t n;
};

/* The host source of a --volume value when it is a bind ("/src:..."). */
int mount_bind_source(const char *value, char *src, size_t size);

/* Child, as the caller: open every bind source of r, in order. */
int mounts_open(const struct ud_request *r, int *fds, size_t *nfds, struct ud_err *err);

/* Root: verify the descriptors, stage them and rewrite r's sources. */
int mounts_stage(struct ud_request *r, const int *fds, size_t nfds, struct ud_stage *st,
		 struct ud_err *err);
void mounts_unstage(struct ud_stage *st);

#endif
