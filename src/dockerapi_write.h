/*
 * dockerapi_write.h - the Engine API requests that change something
 * (POST, DELETE), on a connection opened with dapi_open (dockerapi.h).
 *
 * Kept apart from dockerapi.c, whose client is read-only by design: only
 * the code that is meant to act on containers (the PAM session module,
 * admin tools) links this file.
 */
#ifndef UD_DOCKERAPI_WRITE_H
#define UD_DOCKERAPI_WRITE_H

#include <jansson.h>

#include "dockerapi.h"
#include "error.h"

/* POST or DELETE path (without the version prefix, query string
 * included), with no request body.  *status is the HTTP status; *out the
 * parsed JSON body (error answers carry {"message": ...}), NULL when the
 * body is empty or not JSON, owned by the caller.  Returns -1 only when
 * there is no answer (daemon unreachable, answer too large, bad path). */
int dapi_post(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err);
int dapi_delete(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err);

/* The "message" of an error answer, or "" (never NULL). */
const char *dapi_message(const json_t *answer);

#endif
