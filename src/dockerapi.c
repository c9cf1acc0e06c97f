/*
 * dockerapi.c - see dockerapi.h.
 *
 * MUST: only GET requests; no proxy, no redirects, http only, bounded
 * time and answer size; every answer is validated before use and an
 * unexpected one is an error, never a guess.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dockerapi.h"
#include "mounts.h"

#define DAPI_MAX_BODY (32u << 20)
#define DAPI_MIN_VERSION "1.40"

struct headers {
	char api_version[16];
};

static size_t dapi_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct dapi_body *b = ud;
	size_t n = size * nmemb;
	char *nb;

	if (b->len + n > b->max) {
		b->too_big = 1;
		return 0;
	}
	nb = realloc(b->buf, b->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, ptr, n);
	b->buf = nb;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct headers *h = ud;
	size_t n = size * nmemb, i = 12;

	if (n > 12 && strncasecmp(ptr, "Api-Version:", 12) == 0) {
		size_t k = 0;

		while (i < n && ptr[i] == ' ')
			i++;
		while (i < n && k + 1 < sizeof h->api_version &&
		       (isdigit((unsigned char)ptr[i]) || ptr[i] == '.'))
			h->api_version[k++] = ptr[i++];
		h->api_version[k] = '\0';
	}
	return n;
}

void dapi_setup(struct dapi *d, const char *url, long timeout_ms, struct dapi_body *b)
{
	CURL *c = d->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, d->sock);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP);
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dapi_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
}

static int request(struct dapi *d, const char *url, long *status, struct dapi_body *b,
		   struct headers *h, struct ud_err *err)
{
	CURL *c = d->curl;
	CURLcode rc;

	dapi_setup(d, url, 30000L, b);
	if (h) {
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	}
	rc = curl_easy_perform(c);
	if (b->too_big)
		return ud_fail(err, UD_EX_SOFTWARE, "docker daemon answer too large (over %u MiB)",
			       DAPI_MAX_BODY >> 20);
	if (rc != CURLE_OK)
		return ud_fail(err, UD_EX_UNAVAIL, "docker daemon not answering on %s: %s", d->sock,
			       curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

/* "1.41" > "1.40"?  Compares major.minor numerically. */
static int version_cmp(const char *a, const char *b)
{
	unsigned am = 0, an = 0, bm = 0, bn = 0;

	sscanf(a, "%u.%u", &am, &an);
	sscanf(b, "%u.%u", &bm, &bn);
	return am != bm ? (am > bm) - (am < bm) : (an > bn) - (an < bn);
}

int dapi_open(struct dapi *d, const char *sock, struct ud_err *err)
{
	struct dapi_body b = { .max = DAPI_MAX_BODY };
	struct headers h = { "" };
	struct stat st;
	char url[64];
	long status = 0;

	if (d->curl)
		return 0;
	if (strlen(sock) >= sizeof d->sock)
		return ud_fail(err, UD_EX_CONFIG, "DOCKER_SOCKET too long: %s", sock);
	if (stat(sock, &st))
		return ud_fail_errno(err, UD_EX_UNAVAIL, "docker daemon socket %s (is the daemon running?)", sock);
	if (!S_ISSOCK(st.st_mode))
		return ud_fail(err, UD_EX_UNAVAIL, "docker daemon socket %s is not a socket", sock);
	snprintf(d->sock, sizeof d->sock, "%s", sock);
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK || !(d->curl = curl_easy_init()))
		return ud_fail(err, UD_EX_SOFTWARE, "cannot initialise libcurl");
	snprintf(url, sizeof url, "http://docker/_ping");
	if (request(d, url, &status, &b, &h, err)) {
		free(b.buf);
		dapi_close(d);
		return -1;
	}
	free(b.buf);
	if (status != 200 || !h.api_version[0]) {
		dapi_close(d);
		return ud_fail(err, UD_EX_UNAVAIL, "docker daemon on %s did not answer its ping (HTTP %ld)",
			       sock, status);
	}
	if (version_cmp(h.api_version, DAPI_MIN_VERSION) < 0) {
		dapi_close(d);
		return ud_fail(err, UD_EX_UNAVAIL, "docker daemon API %s is older than %s", h.api_version,
			       DAPI_MIN_VERSION);
	}
	/* Speak the daemon's version, or ours if it is newer (1.41 = 20.10). */
	snprintf(d->version, sizeof d->version, "%s",
		 version_cmp(h.api_version, "1.41") > 0 ? "1.41" : h.api_version);
	return 0;
}

void dapi_close(struct dapi *d)
{
	if (d->curl)
		curl_easy_cleanup(d->curl);
	d->curl = NULL;
}

int dapi_get(struct dapi *d, const char *path, long *status, json_t **out, struct ud_err *err)
{
	struct dapi_body b = { .max = DAPI_MAX_BODY };
	json_error_t jerr;
	char *url;
	int r;

	*out = NULL;
	if (!d->curl)
		return ud_fail(err, UD_EX_SOFTWARE, "docker API used before it was opened");
	if (asprintf(&url, "http://docker/v%s%s", d->version, path) < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	r = request(d, url, status, &b, NULL, err);
	free(url);
	if (r) {
		free(b.buf);
		return -1;
	}
	if (b.len) {
		*out = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!*out && *status == 200) {
			free(b.buf);
			return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon to %s: %s",
				       path, jerr.text);
		}
	}
	free(b.buf);
	return 0;
}

/* Names and ids: letters, digits and _.- only, so nothing needs escaping. */
static int ref_ok(const char *ref)
{
	size_t n = strlen(ref);

	return n > 0 && n <= 128 && ref[0] != '.' && ref[0] != '-' &&
	       strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static int parse_uid(const char *s, uid_t *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 0xfffffffeUL)
		return -1;
	*out = (uid_t)v;
	return 0;
}

static void owner_of(json_t *config, struct dapi_container *c)
{
	json_t *labels = json_object_get(config, "Labels");
	json_t *env = json_object_get(config, "Env");
	json_t *v;
	size_t i;

	v = json_object_get(labels, "userdocker.owner.uid");
	if (json_is_string(v)) {
		c->has_owner = parse_uid(json_string_value(v), &c->owner) == 0;
		return;
	}
	/* Containers started by the reference tool carry env marks only. */
	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);

		if (s && strncmp(s, "USERDOCKER_UID=", 15) == 0) {
			c->has_owner = parse_uid(s + 15, &c->owner) == 0;
			return;
		}
	}
}

int dapi_image_marks(struct dapi *d, const char *image_id, struct ud_err *err)
{
	json_t *j = NULL, *config, *v;
	char path[128];
	long status = 0;
	size_t i, n = image_id ? strlen(image_id) : 0;
	int marked = 0;

	/* Containers carry the image's id ("sha256:" and 64 hex digits). */
	if (n != 71 || strncmp(image_id, "sha256:", 7) != 0 ||
	    strspn(image_id + 7, "0123456789abcdef") != 64)
		return 1;
	snprintf(path, sizeof path, "/images/%s/json", image_id);
	if (dapi_get(d, path, &status, &j, err))
		return -1;
	if (status == 404) {
		json_decref(j);
		return 1; /* cannot tell: treat as marked */
	}
	if (status != 200 || !json_is_object(j)) {
		json_decref(j);
		return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon about image %s (HTTP %ld)",
			       image_id, status);
	}
	config = json_object_get(j, "Config");
	if (json_object_get(json_object_get(config, "Labels"), "userdocker.owner.uid"))
		marked = 1;
	json_array_foreach(json_object_get(config, "Env"), i, v) {
		const char *e = json_string_value(v);

		if (e && strncmp(e, "USERDOCKER_UID=", 15) == 0)
			marked = 1;
	}
	json_decref(j);
	return marked;
}

int dapi_container(struct dapi *d, const char *ref, struct dapi_container *c,
		   struct ud_err *err)
{
	json_t *j = NULL, *v, *binds;
	const char *id;
	char path[192];
	long status = 0;
	size_t i;

	memset(c, 0, sizeof *c);
	if (!ref_ok(ref))
		return 1;
	snprintf(path, sizeof path, "/containers/%s/json", ref);
	if (dapi_get(d, path, &status, &j, err))
		return -1;
	if (status == 404 || status == 400) {
		json_decref(j);
		return 1;
	}
	if (status != 200 || !json_is_object(j)) {
		json_decref(j);
		return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon about %s (HTTP %ld)",
			       ref, status);
	}
	id = json_string_value(json_object_get(j, "Id"));
	if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64) {
		json_decref(j);
		return ud_fail(err, UD_EX_SOFTWARE, "docker daemon gave a malformed container id for %s", ref);
	}
	memcpy(c->id, id, 65);
	owner_of(json_object_get(j, "Config"), c);
	/* A container inherits its image's labels and env: marks that came
	 * with the image (anyone can build one) prove nothing. */
	if (c->has_owner) {
		int marked = dapi_image_marks(d, json_string_value(json_object_get(j, "Image")), err);

		if (marked < 0) {
			json_decref(j);
			return -1;
		}
		if (marked)
			c->has_owner = 0;
	}
	c->reserved_gpus = json_object_get(json_object_get(json_object_get(j, "Config"), "Labels"),
					   "userdocker.gpus") != NULL;
	c->running = json_is_true(json_object_get(json_object_get(j, "State"), "Running"));
	binds = json_object_get(json_object_get(j, "HostConfig"), "Binds");
	json_array_foreach(binds, i, v) {
		const char *s = json_string_value(v);

		if (s && strncmp(s, UD_STAGING_DIR "/", sizeof UD_STAGING_DIR) == 0)
			c->staged_binds = 1;
	}
	json_decref(j);
	return 0;
}

int dapi_image_present(struct dapi *d, const char *ref, struct ud_err *err)
{
	json_t *j = NULL;
	char path[512];
	long status = 0;
	size_t n = strlen(ref);

	/* The reference grammar's characters only; the API takes '/' and ':' raw. */
	if (n == 0 || n > 400 || ref[0] == '-' || strstr(ref, "..") ||
	    strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-") != n)
		return 0;
	snprintf(path, sizeof path, "/images/%s/json", ref);
	if (dapi_get(d, path, &status, &j, err))
		return -1;
	json_decref(j);
	if (status == 200)
		return 1;
	if (status == 404)
		return 0;
	return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon about image %s (HTTP %ld)",
		       ref, status);
}
