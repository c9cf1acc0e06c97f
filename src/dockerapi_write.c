/*
 * dockerapi_write.c - see dockerapi_write.h.
 *
 * MUST, as for the read-only client: no proxy, no redirects, http over
 * the unix socket only, bounded time and answer size.  The curl handle
 * is reset before each request, so neither client inherits the other's
 * method or callbacks.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerapi_write.h"

/* Write answers are empty or a short error object. */
#define DAPI_WRITE_MAX_BODY (1u << 20)
/* A stop waits for the container's own timeout (?t=) before the kill. */
#define DAPI_WRITE_TIMEOUT_MS 120000L

/* Printable ASCII without space: nothing that could end the request
 * line or add a header. */
static int path_ok(const char *path)
{
	const char *p;

	if (path[0] != '/' || strlen(path) > 4096)
		return 0;
	for (p = path; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

static int write_request(struct dapi *d, const char *method, const char *path, long *status,
			 json_t **out, struct ud_err *err)
{
	struct dapi_body b = { .max = DAPI_WRITE_MAX_BODY };
	CURL *c = d->curl;
	CURLcode rc;
	char *url;

	*out = NULL;
	*status = 0;
	if (!c)
		return ud_fail(err, UD_EX_SOFTWARE, "docker API used before it was opened");
	if (!path_ok(path))
		return ud_fail(err, UD_EX_SOFTWARE, "malformed docker API path for %s", method);
	if (asprintf(&url, "http://docker/v%s%s", d->version, path) < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");

	dapi_setup(d, url, DAPI_WRITE_TIMEOUT_MS, &b);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	free(url);
	if (b.too_big) {
		free(b.buf);
		return ud_fail(err, UD_EX_SOFTWARE, "docker daemon answer to %s %s too large", method,
			       path);
	}
	if (rc != CURLE_OK) {
		free(b.buf);
		return ud_fail(err, UD_EX_UNAVAIL, "docker daemon not answering %s %s on %s: %s", method,
			       path, d->sock, curl_easy_strerror(rc));
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (b.len)
		*out = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, NULL);
	free(b.buf);
	return 0;
}

int dapi_post(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err)
{
	return write_request(d, "POST", path, status, out, err);
}

int dapi_delete(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err)
{
	return write_request(d, "DELETE", path, status, out, err);
}

const char *dapi_message(const json_t *answer)
{
	const char *m = json_string_value(json_object_get(answer, "message"));

	return m ? m : "";
}
