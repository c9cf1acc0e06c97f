/*
 * load.c - `userdocker load`: an archive names its images itself, and
 * docker replaces whatever image had that name, for every user.  So the
 * archive reaches docker only through a checker that rewrites it: every
 * image name it carries (manifest.json RepoTags, the legacy repositories
 * file, an OCI index.json's image names) must lie under the caller's own
 * namespace, "<user>/..." (docker.io implied); untagged images load by id.
 *
 * The checker (a child that has dropped to the caller) reads the caller's
 * file or stdin and writes docker's stdin pipe, and what it writes is its
 * own canonical archive, not the input: a plain ustar header it builds for
 * each entry as it understood it (pax records only for long names and
 * large sizes), the data copied, the name-carrying files re-encoded as
 * JSON with nothing but the keys docker reads, spelled exactly.  Whatever
 * tar or JSON dialect the input uses, docker sees exactly what was checked.
 * Root keeps its own copy of the pipe's write end, so docker sees no end of
 * input before the whole archive has passed: on a refusal root kills
 * docker first, and nothing was tagged.
 *
 * The rewrite starts with fixed bytes (a pax global header), so that docker,
 * which sniffs the first bytes for a compression format, never takes it for
 * one; archives without manifest.json (docker's legacy loader reads names
 * and parents from files not checked here) are refused.
 *
 * Refused as well: compressed archives (decompress first), entries named
 * by an absolute path or with "..", devices and FIFOs, sparse files, a
 * link at the top level or a name that passes through a link (either could
 * put a manifest.json where docker looks), a name-carrying file that is not
 * a regular file, and an archive cut short.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userdocker.h"

#define TAGFILE_MAX (8u << 20)  /* manifest.json and friends, held in memory */
#define EXTHDR_MAX (1u << 20)   /* a pax or GNU long-name header's data */
#define LINKS_MAX 65536
#define USTAR_SIZE_MAX 077777777777ULL

struct buf {
	unsigned char *p;
	size_t n, cap;
};

struct checker {
	const char *user;
	int in, out;
	char msg[512];              /* why it was refused */
	struct buf data;            /* an extended header's or a name file's data */
	char *pax_path, *pax_link;  /* from pax 'x' or GNU 'L'/'K', for the next entry */
	int have_pax_size;
	unsigned long long pax_size;
	char **links;
	size_t nlinks;
	int first;
	int manifests;              /* manifest.json entries seen */
};

static int refuse(struct checker *k, const char *fmt, ...)
{
	va_list ap;

	if (k->msg[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(k->msg, sizeof k->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap : 8192;
		unsigned char *q;

		while (cap < b->n + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q)
			return -1;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static int write_all(struct checker *k, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n) {
		ssize_t w = write(k->out, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return refuse(k, "load: docker stopped reading the archive");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One 512-byte block of input; 0 at a clean end of input, -1 on error. */
static int read_block(struct checker *k, unsigned char *b, int *eof)
{
	size_t have = 0;

	*eof = 0;
	while (have < 512) {
		ssize_t r = read(k->in, b + have, 512 - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return refuse(k, "load: cannot read the archive: %s", strerror(errno));
		if (r == 0)
			break;
		have += (size_t)r;
		if (k->first && have >= 6) {
			static const struct {
				const char *magic;
				size_t len;
				const char *name;
			} z[] = { { "\x1f\x8b", 2, "gzip" }, { "BZh", 3, "bzip2" },
				  { "\xfd" "7zXZ\0", 6, "xz" }, { "\x28\xb5\x2f\xfd", 4, "zstd" },
				  { "\x50\x2a\x4d\x18", 4, "zstd" } };
			size_t i;

			k->first = 0;
			for (i = 0; i < sizeof z / sizeof z[0]; i++)
				if (!memcmp(b, z[i].magic, z[i].len))
					return refuse(k, "load not allowed: a %s-compressed archive (the image names inside cannot be checked; decompress it first)",
						      z[i].name);
		}
	}
	if (have == 0) {
		*eof = 1;
		return 0;
	}
	if (have < 512)
		return refuse(k, "load not allowed: the archive ends in the middle of a block");
	return 0;
}

/* Octal, or base-256 (GNU) for large values. */
static int tar_number(const unsigned char *f, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		v = f[0] & 0x7f;
		for (i = 1; i < len; i++) {
			if (v >> 55)
				return -1;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && (f[i] == ' ' || f[i] == '\0'))
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (unsigned)(f[i] - '0');
	}
	*out = v;
	return 0;
}

static int header_ok(const unsigned char *h)
{
	unsigned long long want;
	unsigned long sum = 0;
	size_t i;

	if (tar_number(h + 148, 8, &want))
		return 0;
	for (i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum == want;
}

/* "./a//b/" -> "a/b", "./" -> ""; NULL (refused) for absolute names and "..". */
static char *normalize(const char *name)
{
	char *out = malloc(strlen(name) + 1), *o = out;
	const char *p = name;

	if (!out)
		return NULL;
	if (*p == '/') {
		free(out);
		return NULL;
	}
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 2 && p[0] == '.' && p[1] == '.') {
			free(out);
			return NULL;
		}
		if (len && !(len == 1 && p[0] == '.')) {
			if (o != out)
				*o++ = '/';
			memcpy(o, p, len);
			o += len;
		}
		p += len;
		while (*p == '/')
			p++;
	}
	*o = '\0';
	return out;
}

static int is_tag_file(const char *n)
{
	return !strcmp(n, "manifest.json") || !strcmp(n, "repositories") || !strcmp(n, "index.json");
}

/* The caller's namespace: "<user>/..." or "docker.io/<user>/...".  A user
 * name that is not a plain lowercase docker path component, or that
 * means something else to docker (library, localhost), has none. */
static int name_ok(const struct checker *k, const char *ref)
{
	size_t u = strlen(k->user);

	if (u == 0 || strspn(k->user, "abcdefghijklmnopqrstuvwxyz0123456789_-") != u ||
	    !strcmp(k->user, "library") || !strcmp(k->user, "localhost"))
		return 0;
	if (!strncmp(ref, "docker.io/", 10))
		ref += 10;
	return !strncmp(ref, k->user, u) && ref[u] == '/' && ref[u + 1] != '\0' &&
	       ref[u + 1] != ':' && ref[u + 1] != '@';
}

static int check_name(struct checker *k, const char *file, json_t *v)
{
	const char *ref = json_string_value(v);
	char *shown;

	if (!ref)
		return refuse(k, "load not allowed: an image name in %s is not a string", file);
	if (name_ok(k, ref))
		return 0;
	shown = text_printable(ref);
	refuse(k, "load not allowed: the archive names the image %.200s in %s (only names under %s/ may be loaded, e.g. %s/myimage:1)",
	       shown ? shown : "?", file, k->user, k->user);
	free(shown);
	return -1;
}

/* Only these keys, spelled exactly: docker's JSON decoder would match any
 * other spelling (case, Unicode folding) of a field it reads. */
static int keys_only(struct checker *k, const char *file, json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return refuse(k, "load not allowed: %s in the archive has an unexpected structure", file);
	json_object_foreach(obj, key, v) {
		size_t i;

		(void)v;
		for (i = 0; keys[i] && strcmp(key, keys[i]); i++)
			;
		if (!keys[i]) {
			char *shown = text_printable(key);

			refuse(k, "load not allowed: %s in the archive has an unexpected key: %.100s", file,
			       shown ? shown : "?");
			free(shown);
			return -1;
		}
	}
	return 0;
}

/* The name-carrying file, checked; its canonical JSON in *out. */
static int check_tag_file(struct checker *k, const char *file, char **out)
{
	/* (no LayerSources or urls: foreign layers the daemon would fetch) */
	static const char *const manifest_keys[] = { "Config", "RepoTags", "Layers", "Parent", NULL };
	static const char *const index_keys[] = { "schemaVersion", "mediaType", "manifests",
						   "annotations", NULL };
	static const char *const desc_keys[] = { "mediaType", "digest", "size", "annotations",
						  "platform", "artifactType", NULL };
	json_error_t jerr;
	json_t *j = json_loadb((const char *)k->data.p, k->data.n, JSON_REJECT_DUPLICATES, &jerr);
	json_t *v, *w;
	const char *key;
	size_t i, m;
	int r = -1;

	if (!j)
		return refuse(k, "load not allowed: %s in the archive is not valid JSON", file);
	if (!strcmp(file, "manifest.json")) {
		if (!json_is_array(j)) {
			refuse(k, "load not allowed: %s in the archive has an unexpected structure", file);
			goto out;
		}
		json_array_foreach(j, i, v) {
			json_t *tags;

			if (keys_only(k, file, v, manifest_keys))
				goto out;
			/* Parent would link the image under any image of the
			 * daemon, another user's too (their builds would then find
			 * it as a cached child); docker save writes it only for a
			 * parent saved along, so dropping it loses nothing. */
			json_object_del(v, "Parent");
			tags = json_object_get(v, "RepoTags");
			if (tags && !json_is_null(tags) && !json_is_array(tags)) {
				refuse(k, "load not allowed: RepoTags in %s is not a list", file);
				goto out;
			}
			json_array_foreach(tags, m, w)
				if (check_name(k, file, w))
					goto out;
		}
	} else if (!strcmp(file, "repositories")) {
		if (!json_is_object(j)) {
			refuse(k, "load not allowed: %s in the archive has an unexpected structure", file);
			goto out;
		}
		json_object_foreach(j, key, v) {
			json_t *name = json_string(key);
			int bad = !name || check_name(k, file, name);

			json_decref(name);
			if (bad || !json_is_object(v)) {
				refuse(k, "load not allowed: %s in the archive has an unexpected structure", file);
				goto out;
			}
		}
	} else {
		if (keys_only(k, file, j, index_keys))
			goto out;
		json_array_foreach(json_object_get(j, "manifests"), i, v) {
			json_t *ann;

			if (keys_only(k, file, v, desc_keys))
				goto out;
			ann = json_object_get(v, "annotations");
			json_object_foreach(ann, key, w) {
				/* Any annotation that names an image: the containerd
				 * name and the OCI ref name (a bare tag is harmless). */
				const char *s = json_string_value(w);

				if ((!strcasecmp(key, "io.containerd.image.name") ||
				     (!strcasecmp(key, "org.opencontainers.image.ref.name") && s &&
				      strpbrk(s, "/:@"))) && check_name(k, file, w))
					goto out;
			}
		}
	}
	*out = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	r = *out ? 0 : refuse(k, "load: out of memory");
out:
	json_decref(j);
	return r;
}

static int through_link(const struct checker *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->nlinks; i++) {
		size_t n = strlen(k->links[i]);

		if (!strncmp(name, k->links[i], n) && name[n] == '/')
			return 1;
	}
	return 0;
}

/* Reads `size` bytes of entry data (and its padding) into k->data. */
static int read_data(struct checker *k, unsigned long long size, size_t max)
{
	unsigned char b[512];
	int eof;

	k->data.n = 0;
	if (size > max)
		return refuse(k, "load not allowed: an entry of the archive that userdocker must read is too large");
	while (size) {
		size_t take = size > 512 ? 512 : (size_t)size;

		if (read_block(k, b, &eof))
			return -1;
		if (eof)
			return refuse(k, "load not allowed: the archive is cut short");
		if (buf_add(&k->data, b, take))
			return refuse(k, "load: out of memory");
		size -= take;
	}
	return 0;
}

/* Copies `size` bytes of entry data (and padding) through unchanged. */
static int copy_data(struct checker *k, unsigned long long size)
{
	unsigned char b[512];
	int eof;

	while (size) {
		if (read_block(k, b, &eof))
			return -1;
		if (eof)
			return refuse(k, "load not allowed: the archive is cut short");
		if (write_all(k, b, 512))
			return -1;
		size -= size > 512 ? 512 : size;
	}
	return 0;
}

static void put_octal(unsigned char *f, size_t len, unsigned long long v)
{
	char tmp[32];

	snprintf(tmp, sizeof tmp, "%0*llo", (int)len - 1, v);
	memcpy(f, tmp, len - 1);
	f[len - 1] = '\0';
}

/* A ustar header of ours: owned by root, names cut to their fields (a
 * pax record carries the whole one), checksum last. */
static void make_header(unsigned char *h, const char *name, const char *link, char type,
			unsigned long long mode, unsigned long long size, unsigned long long mtime)
{
	unsigned long sum = 0;
	size_t i;
	char tmp[8];

	memset(h, 0, 512);
	memcpy(h, name, strlen(name) > 100 ? 100 : strlen(name));
	put_octal(h + 100, 8, mode & 07777);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size > USTAR_SIZE_MAX ? 0 : size);
	put_octal(h + 136, 12, mtime);
	h[156] = (unsigned char)type;
	memcpy(h + 157, link, strlen(link) > 100 ? 100 : strlen(link));
	memcpy(h + 257, "ustar\0" "00", 8);
	memset(h + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += h[i];
	snprintf(tmp, sizeof tmp, "%06lo", sum);
	memcpy(h + 148, tmp, 6);
	h[154] = '\0';
	h[155] = ' ';
}

/* n bytes of entry data, then zeros to the end of its last block. */
static int write_padded(struct checker *k, const void *p, size_t n)
{
	static const unsigned char zero[512];

	return write_all(k, p, n) || (n % 512 && write_all(k, zero, 512 - n % 512)) ? -1 : 0;
}

/* "LEN key=value\n" with LEN counting itself. */
static int pax_record(struct buf *b, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3, len = body, digits;
	char tmp[32];

	for (;;) {
		digits = (size_t)snprintf(tmp, sizeof tmp, "%zu", len);
		if (body + digits == len)
			break;
		len = body + digits;
	}
	snprintf(tmp, sizeof tmp, "%zu ", len);
	return buf_add(b, tmp, strlen(tmp)) || buf_add(b, key, strlen(key)) || buf_add(b, "=", 1) ||
	       buf_add(b, value, strlen(value)) || buf_add(b, "\n", 1);
}

/* One entry as docker will read it: a pax header when the name, the link
 * or the size does not fit ustar, then a plain ustar header. */
static int emit_header(struct checker *k, const char *name, const char *link, char type,
		       unsigned long long size, const unsigned char *in)
{
	unsigned char h[512], ph[512];
	unsigned long long mode, mtime;
	struct buf pax = { 0 };
	char sz[32];
	int r = 0;

	if ((strlen(name) > 100 && pax_record(&pax, "path", name)) ||
	    (strlen(link) > 100 && pax_record(&pax, "linkpath", link)) ||
	    (size > USTAR_SIZE_MAX && (snprintf(sz, sizeof sz, "%llu", size), pax_record(&pax, "size", sz)))) {
		free(pax.p);
		return refuse(k, "load: out of memory");
	}
	if (pax.n) {
		make_header(ph, "PaxHeader", "", 'x', 0644, pax.n, 0);
		r = write_all(k, ph, 512) || write_padded(k, pax.p, pax.n);
	}
	free(pax.p);
	if (r)
		return -1;
	if (tar_number(in + 100, 8, &mode))
		mode = type == '5' ? 0755 : 0644;
	if (tar_number(in + 136, 12, &mtime) || mtime > USTAR_SIZE_MAX)
		mtime = 0;
	make_header(h, name, link, type, mode, size, mtime);
	return write_all(k, h, 512);
}

static int pax_parse(struct checker *k)
{
	size_t i = 0;

	while (i < k->data.n) {
		char *rec = (char *)k->data.p + i, *sp, *eq;
		unsigned long len = strtoul(rec, &sp, 10);
		size_t klen;

		if (sp == rec || *sp != ' ' || len < 5 || len > k->data.n - i || rec[len - 1] != '\n')
			return refuse(k, "load not allowed: a pax header in the archive is malformed");
		eq = memchr(sp + 1, '=', len - (size_t)(sp + 1 - rec));
		if (!eq)
			return refuse(k, "load not allowed: a pax header in the archive is malformed");
		klen = (size_t)(eq - sp - 1);
		if (klen == 4 && !memcmp(sp + 1, "path", 4)) {
			free(k->pax_path);
			k->pax_path = strndup(eq + 1, len - (size_t)(eq + 1 - rec) - 1);
		} else if (klen == 8 && !memcmp(sp + 1, "linkpath", 8)) {
			free(k->pax_link);
			k->pax_link = strndup(eq + 1, len - (size_t)(eq + 1 - rec) - 1);
		} else if (klen == 4 && !memcmp(sp + 1, "size", 4)) {
			char *end;

			k->pax_size = strtoull(eq + 1, &end, 10);
			if (end == eq + 1 || *end != '\n')
				return refuse(k, "load not allowed: a pax size in the archive is malformed");
			k->have_pax_size = 1;
		} else if (klen >= 10 && !memcmp(sp + 1, "GNU.sparse", 10)) {
			return refuse(k, "load not allowed: sparse files in the archive");
		}
		i += len;
	}
	return 0;
}

static void forget_extended(struct checker *k)
{
	free(k->pax_path);
	free(k->pax_link);
	k->pax_path = k->pax_link = NULL;
	k->have_pax_size = 0;
}

/* One entry, from its header block on, passed on as ours. */
static int entry(struct checker *k, const unsigned char *h)
{
	char raw[256 + 2], linkraw[101], *name = NULL, *link = NULL;
	unsigned long long size;
	char t = (char)h[156];
	int r = -1;

	if (!header_ok(h))
		return refuse(k, "load not allowed: not a tar archive (or a damaged one)");
	if (tar_number(h + 124, 12, &size))
		return refuse(k, "load not allowed: a size in the archive is malformed");
	switch (t) {
	case 'x':
	case 'L':
	case 'K':
		if (read_data(k, size, EXTHDR_MAX))
			return -1;
		if (t == 'x')
			return pax_parse(k);
		if (buf_add(&k->data, "", 1))
			return refuse(k, "load: out of memory");
		if (t == 'L') {
			free(k->pax_path);
			k->pax_path = strdup((const char *)k->data.p);
		} else {
			free(k->pax_link);
			k->pax_link = strdup((const char *)k->data.p);
		}
		return 0;
	case 'g':
		/* Global records: nothing docker needs; not passed on. */
		return read_data(k, size, EXTHDR_MAX);
	case '0': case '\0': case '7': case '5': case '1': case '2':
		break;
	default:
		return refuse(k, "load not allowed: the archive has an entry of type '%c' (only files, directories and links)",
			      t >= 32 && t < 127 ? t : '?');
	}
	if (k->have_pax_size)
		size = k->pax_size;
	if (t == '5' || t == '1' || t == '2')
		size = 0; /* as docker reads them: no data */
	if (k->pax_path) {
		name = normalize(k->pax_path);
	} else {
		/* The prefix field only with the POSIX magic (GNU uses those
		 * bytes for other things). */
		memset(raw, 0, sizeof raw);
		if (!memcmp(h + 257, "ustar\0", 6) && h[345]) {
			memcpy(raw, h + 345, 155);
			strcat(raw, "/");
		}
		{
			size_t cur = strlen(raw), nl = strnlen((const char *)h, 100);

			memcpy(raw + cur, h, nl);
			raw[cur + nl] = '\0';
		}
		name = normalize(raw);
	}
	if (k->pax_link) {
		link = strdup(k->pax_link);
	} else {
		memcpy(linkraw, h + 157, 100);
		linkraw[100] = '\0';
		link = strdup(linkraw);
	}
	forget_extended(k);
	if (name && !*name && t == '5') {
		r = 0; /* "./", the archive's own top: nothing to pass on */
		goto out;
	}
	if (!name || !*name || !link) {
		refuse(k, "load not allowed: the archive has an entry with an absolute name, \"..\" or no name");
		goto out;
	}
	if (through_link(k, name)) {
		refuse(k, "load not allowed: the archive has an entry under a link (%.100s)", name);
		goto out;
	}
	if (t == '1' || t == '2') {
		if (!strchr(name, '/') || is_tag_file(name)) {
			refuse(k, "load not allowed: the archive has a link at its top level (%.100s)", name);
			goto out;
		}
		if (k->nlinks >= LINKS_MAX) {
			refuse(k, "load not allowed: too many links in the archive");
			goto out;
		}
		k->links = realloc(k->links, (k->nlinks + 1) * sizeof *k->links);
		if (!k->links || !(k->links[k->nlinks] = strdup(name))) {
			refuse(k, "load: out of memory");
			goto out;
		}
		k->nlinks++;
	}
	if (is_tag_file(name)) {
		char *json = NULL;
		size_t n;

		if (t != '0' && t != '\0' && t != '7') {
			refuse(k, "load not allowed: %s in the archive is not a regular file", name);
			goto out;
		}
		if (read_data(k, size, TAGFILE_MAX) || check_tag_file(k, name, &json))
			goto out;
		if (!strcmp(name, "manifest.json"))
			k->manifests++;
		n = strlen(json);
		r = emit_header(k, name, "", '0', n, h) || write_padded(k, json, n);
		free(json);
		r = r ? -1 : 0;
		goto out;
	}
	if (t == '5') {
		char *dir = malloc(strlen(name) + 2);

		if (!dir) {
			refuse(k, "load: out of memory");
			goto out;
		}
		sprintf(dir, "%s/", name);
		r = emit_header(k, dir, "", '5', 0, h);
		free(dir);
		goto out;
	}
	if (emit_header(k, name, (t == '1' || t == '2') ? link : "", t == '7' || t == '\0' ? '0' : t, size, h))
		goto out;
	r = copy_data(k, size);
out:
	free(name);
	free(link);
	return r;
}

/* The checker's whole life; returns 0 when the archive passed. */
static int check_stream(struct checker *k)
{
	static const unsigned char zero[512];
	unsigned char b[512], g[512];
	int eof;

	/* Our archive starts with fixed bytes, a pax global header (docker's
	 * untar ignores it): docker looks at the first bytes to decide
	 * whether to decompress, and they must never be a name the archive
	 * chose. */
	make_header(g, "pax_global_header", "", 'g', 0644, 0, 0);
	if (write_all(k, g, 512))
		return -1;
	k->first = 1;
	for (;;) {
		if (read_block(k, b, &eof))
			return -1;
		if (eof)
			break; /* a clean end between entries, as docker takes it */
		if (!memcmp(b, zero, 512)) {
			if (read_block(k, b, &eof))
				return -1;
			if (!eof && memcmp(b, zero, 512))
				return refuse(k, "load not allowed: a lone zero block in the archive");
			break;
		}
		if (entry(k, b))
			return -1;
	}
	if (k->pax_path || k->pax_link || k->have_pax_size)
		return refuse(k, "load not allowed: the archive is cut short");
	/* Without manifest.json docker falls back to its legacy loader, which
	 * reads names and parents from files not checked here. */
	if (k->manifests == 0)
		return refuse(k, "load not allowed: the archive has no manifest.json (the legacy format is not accepted)");
	/* The end of the archive: ours, and nothing after it is read. */
	return write_all(k, zero, 512) || write_all(k, zero, 512) ? -1 : 0;
}

int load_run(const struct ud_caller *c, const struct ud_verdict *v, char **argv, char **envp,
	     struct ud_err *err)
{
	const char *path = v->executor_path;
	int in = v->load_fd;
	int data[2], report[2], status = 0, dstatus = 0;
	pid_t checker, docker;
	char msg[512];
	ssize_t n;

	if (pipe2(data, O_CLOEXEC) || pipe2(report, O_CLOEXEC))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot create a pipe");
	/* (terminal signals and SIGPIPE are held since main: signals_hold) */
	checker = fork();
	if (checker < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot fork");
	if (checker == 0) {
		struct checker k = { 0 };

		close(data[0]);
		close(report[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		/* Ids dropped and checked as for the policy child; the flags
		 * after the change, which resets them. */
		if (caller_drop(c) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
			_exit(UD_EX_OSERR);
		k.user = c->user_name;
		k.in = in;
		k.out = data[1];
		if (check_stream(&k)) {
			(void)!write(report[1], k.msg, strlen(k.msg));
			_exit(UD_EX_DENIED);
		}
		_exit(0);
	}
	close(report[1]);
	close(in);
	docker = fork();
	if (docker < 0) {
		kill(checker, SIGKILL);
		waitpid(checker, NULL, 0);
		return ud_fail_errno(err, UD_EX_OSERR, "cannot fork");
	}
	if (docker == 0) {
		if (dup2(data[0], 0) < 0)
			_exit(UD_EX_OSERR);
		signals_release();
		if (exec_account_enter(v))
			_exit(UD_EX_OSERR);
		execve(path, argv, envp);
		fprintf(stderr, "userdocker: cannot execute %s: %s\n", path, strerror(errno));
		_exit(UD_EX_OSERR);
	}
	close(data[0]);
	/* data[1] stays open here until the checker's verdict: docker sees
	 * no end of input before the whole archive has passed. */
	n = read(report[0], msg, sizeof msg - 1);
	close(report[0]);
	while (waitpid(checker, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		kill(docker, SIGKILL);
		while (waitpid(docker, &dstatus, 0) < 0 && errno == EINTR)
			;
		close(data[1]);
		if (n > 0) {
			msg[n] = '\0';
			return ud_fail(err, UD_EX_DENIED, "%s", msg);
		}
		return ud_fail(err, UD_EX_SOFTWARE, "load: the archive checker failed");
	}
	close(data[1]);
	while (waitpid(docker, &dstatus, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(dstatus))
		execute_exit(128 + WTERMSIG(dstatus));
	execute_exit(WEXITSTATUS(dstatus));
}
