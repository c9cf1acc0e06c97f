/*
 * dockerapi.h - a small Docker Engine API client (libcurl over the unix
 * socket, jansson for JSON), used by root to answer facts: who owns a
 * container, its full id, whether an image is present, the caller's
 * containers.  Never used by the policy child, which gets no socket.
 */
#ifndef UD_DOCKERAPI_H
#define UD_DOCKERAPI_H

#include <jansson.h>
#include <sys/types.h>

#include "error.h"

struct dapi {
	void *curl;
	char sock[108];
	char version[16]; /* negotiated API version, e.g. "1.41" */
};

/* Connect (lazily) and negotiate the API version.  Errors say what
 * failed: socket missing, permission, daemon not answering (UD_EX_UNAVAIL). */
/* A response body, collected up to max bytes by dapi_setup's write
 * callback; too_big is set when it would have been longer. */
struct dapi_body {
	char *buf;
	size_t len, max;
	int too_big;
};
/* d->curl reset for one request on d's socket: no proxy, no redirect,
 * http only, the body into b. */
void dapi_setup(struct dapi *d, const char *url, long timeout_ms, struct dapi_body *b);

int dapi_open(struct dapi *d, const char *sock, struct ud_err *err);
void dapi_close(struct dapi *d);

/* GET path (without the version prefix).  *status is the HTTP status;
 * *out the parsed JSON body (NULL for an empty body), owned by the caller. */
int dapi_get(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err);

struct dapi_container {
	char id[65];
	int has_owner;     /* 1 when labelled (or env-marked by the reference) */
	uid_t owner;
	int running;
	int staged_binds;  /* 1 when a bind source lies under the staging dir */
	int reserved_gpus; /* 1 when labelled userdocker.gpus */
};

/* Look a container up by name, full id or id prefix.  Returns 0 and fills
 * *c, 1 when there is no such container, -1 on error. */
int dapi_container(struct dapi *d, const char *ref, struct dapi_container *c,
		   struct ud_err *err);

/* 1 when the image reference is present locally, 0 when not, -1 on error. */
int dapi_image_present(struct dapi *d, const char *ref, struct ud_err *err);
/* 1 when the image (its "sha256:..." id) carries userdocker's ownership
 * marks itself, or cannot be found: its containers' marks prove nothing. */
int dapi_image_marks(struct dapi *d, const char *image_id, struct ud_err *err);

#endif
