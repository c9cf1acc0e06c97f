/*
 * load.c - `userdocker load`: an archive names its images itself, and
 * docker replaces whatever image had that name, for every user.  So the
 * archive is streamed to docker through a checker: every image name it
 * carries (manifest.json RepoTags, the legacy repositories file, an OCI
 * index.json's image names) must lie under the caller's own namespace,
 * "<user>/..." (docker.io implied); untagged images load by id.
 *
 * The bytes docker reads are exactly the bytes checked: the checker (a
 * child that has dropped to the caller) reads the caller's file or stdin
 * and writes docker's stdin pipe.  The files that carry names are held
 * back until they are checked, and root keeps its own copy of the pipe's
 * write end, so docker sees no end of input until the whole archive has
 * passed: on a refusal root kills docker first, and nothing was tagged.
 *
 * Refused as well: compressed archives (the names inside cannot be seen;
 * decompress first), entries named by an absolute path or with "..", a
 * link at the top level or a name that passes through a link (either
 * could put a manifest.json where docker looks), a name-carrying file
 * that is not a regular file, and an archive cut short.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "userdocker.h"

#define TAGFILE_MAX (8u << 20)  /* manifest.json and friends, held in memory */
#define LINKS_MAX 65536

struct buf {
	unsigned char *p;
	size_t n, cap;
};

struct checker {
	const char *user;
	int out;                    /* docker's stdin */
	char msg[512];              /* why it was refused */
	struct buf held;            /* bytes not yet forwarded */
	int holding;
	struct buf capture;         /* data of the current entry, when kept */
	int capturing;
	char *long_name;            /* from a GNU 'L' or pax path= */
	char *cur_name;             /* the entry whose data is being read */
	char cur_type;
	unsigned long long remaining;  /* data bytes still to come */
	int zero_blocks, done;
	char **links;
	size_t nlinks;
};

static int refuse(struct checker *k, const char *fmt, ...)
{
	va_list ap;

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

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Forward a block now, or keep it with the held ones. */
static int emit(struct checker *k, const unsigned char *p, size_t n)
{
	if (k->holding)
		return buf_add(&k->held, p, n) ? refuse(k, "load: out of memory") : 0;
	if (write_all(k->out, p, n))
		return refuse(k, "load: docker stopped reading the archive");
	return 0;
}

static int release(struct checker *k)
{
	k->holding = 0;
	if (k->held.n && write_all(k->out, k->held.p, k->held.n))
		return refuse(k, "load: docker stopped reading the archive");
	k->held.n = 0;
	return 0;
}

/* Octal, or base-256 for large sizes (GNU). */
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

/* "./a//b/" -> "a/b"; NULL (refused) for absolute names and "..". */
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

/* The caller's namespace: "<user>/..." or "docker.io/<user>/...". */
static int name_ok(const struct checker *k, const char *ref)
{
	size_t u = strlen(k->user);

	if (!strncmp(ref, "docker.io/", 10))
		ref += 10;
	return !strncmp(ref, k->user, u) && ref[u] == '/' && ref[u + 1] != '\0' &&
	       ref[u + 1] != ':' && ref[u + 1] != '@';
}

static int check_name(struct checker *k, const char *file, const char *ref)
{
	char *shown;

	if (name_ok(k, ref))
		return 0;
	shown = utf8_sanitize(ref);
	refuse(k, "load not allowed: the archive names the image %.200s in %s (only names under %s/ may be loaded, e.g. %s/myimage:1)",
	       shown ? shown : "?", file, k->user, k->user);
	free(shown);
	return -1;
}

static int check_tag_file(struct checker *k, const char *file)
{
	json_error_t jerr;
	json_t *j = json_loadb((const char *)k->capture.p, k->capture.n, 0, &jerr), *v, *w;
	const char *key;
	size_t i, m;
	int r = 0;

	if (!j)
		return refuse(k, "load not allowed: %s in the archive is not valid JSON", file);
	if (!strcmp(file, "manifest.json")) {
		json_array_foreach(j, i, v) {
			json_array_foreach(json_object_get(v, "RepoTags"), m, w) {
				if (!json_is_string(w) || check_name(k, file, json_string_value(w))) {
					r = k->msg[0] ? -1 : refuse(k, "load not allowed: a RepoTags entry in %s is not a string", file);
					goto out;
				}
			}
		}
	} else if (!strcmp(file, "repositories")) {
		json_object_foreach(j, key, v) {
			if (check_name(k, file, key)) {
				r = -1;
				goto out;
			}
		}
	} else {
		json_array_foreach(json_object_get(j, "manifests"), i, v) {
			json_t *ann = json_object_get(v, "annotations");
			const char *img = json_string_value(json_object_get(ann, "io.containerd.image.name"));
			const char *ref = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));

			if ((img && check_name(k, file, img)) || (ref && strchr(ref, '/') && check_name(k, file, ref))) {
				r = -1;
				goto out;
			}
		}
	}
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

/* A header block: decide what its entry is and whether it is held. */
static int on_header(struct checker *k, const unsigned char *h)
{
	char name[256 + 156], raw[101], prefix[156], *norm;
	unsigned long long size;
	char t = (char)h[156];

	if (!header_ok(h))
		return refuse(k, "load not allowed: not a tar archive (or a damaged one)");
	if (tar_number(h + 124, 12, &size))
		return refuse(k, "load not allowed: a size in the archive is malformed");
	k->cur_type = t;
	k->remaining = size;
	k->capture.n = 0;
	k->capturing = 0;
	if (t == 'x' || t == 'g' || t == 'L' || t == 'K') {
		/* Extended headers describe the next entry: hold them with it. */
		if (size > TAGFILE_MAX)
			return refuse(k, "load not allowed: an extended tar header is too large");
		k->holding = 1;
		k->capturing = 1;
		return emit(k, h, 512);
	}
	memcpy(raw, h, 100);
	raw[100] = '\0';
	prefix[0] = '\0';
	if (!memcmp(h + 257, "ustar", 5)) {
		memcpy(prefix, h + 345, 155);
		prefix[155] = '\0';
	}
	if (k->long_name) {
		norm = normalize(k->long_name);
		free(k->long_name);
		k->long_name = NULL;
	} else {
		snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "/" : "", raw);
		norm = normalize(name);
	}
	if (!norm)
		return refuse(k, "load not allowed: the archive has an entry with an absolute name or \"..\"");
	if (through_link(k, norm)) {
		free(norm);
		return refuse(k, "load not allowed: the archive has an entry under a link");
	}
	free(k->cur_name);
	k->cur_name = norm;
	if (t == '1' || t == '2') {
		if (!strchr(norm, '/') || is_tag_file(norm))
			return refuse(k, "load not allowed: the archive has a link at its top level (%.100s)", norm);
		if (k->nlinks >= LINKS_MAX)
			return refuse(k, "load not allowed: too many links in the archive");
		k->links = realloc(k->links, (k->nlinks + 1) * sizeof *k->links);
		if (!k->links || !(k->links[k->nlinks] = strdup(norm)))
			return refuse(k, "load: out of memory");
		k->nlinks++;
	}
	if (is_tag_file(norm)) {
		if (t != '0' && t != '\0' && t != '7')
			return refuse(k, "load not allowed: %s in the archive is not a regular file", norm);
		if (size > TAGFILE_MAX)
			return refuse(k, "load not allowed: %s in the archive is too large", norm);
		k->holding = 1;
		k->capturing = 1;
		return emit(k, h, 512);
	}
	/* Anything held (extended headers) belonged to this entry. */
	if (emit(k, h, 512))
		return -1;
	return release(k);
}

/* The end of an entry's data: act on what was captured. */
static int on_entry_end(struct checker *k)
{
	if (!k->capturing)
		return 0;
	k->capturing = 0;
	if (k->cur_type == 'L') {
		free(k->long_name);
		k->long_name = strndup((const char *)k->capture.p, k->capture.n);
		return k->long_name ? 0 : refuse(k, "load: out of memory");
	}
	if (k->cur_type == 'x' || k->cur_type == 'g') {
		/* Records "LEN key=value\n"; only path matters here. */
		size_t i = 0;

		while (i < k->capture.n) {
			char *rec = (char *)k->capture.p + i, *sp, *eq;
			unsigned long len = strtoul(rec, &sp, 10);

			if (sp == rec || *sp != ' ' || len == 0 || len > k->capture.n - i)
				return refuse(k, "load not allowed: a pax header in the archive is malformed");
			eq = memchr(sp, '=', len - (size_t)(sp - rec));
			if (eq && eq - sp == 5 && !memcmp(sp + 1, "path", 4)) {
				if (k->cur_type == 'g')
					return refuse(k, "load not allowed: a global pax path in the archive");
				free(k->long_name);
				k->long_name = strndup(eq + 1, len - (size_t)(eq + 1 - rec) - 1);
				if (!k->long_name)
					return refuse(k, "load: out of memory");
			}
			i += len;
		}
		return 0;
	}
	if (k->cur_type == 'K')
		return 0;
	/* A name-carrying file, complete: check it, then let it through. */
	if (check_tag_file(k, k->cur_name))
		return -1;
	return release(k);
}

static int feed_block(struct checker *k, const unsigned char *b)
{
	if (k->done)
		return emit(k, b, 512);
	if (k->remaining) {
		/* Data; the last block of an entry ends with its padding. */
		size_t take = k->remaining > 512 ? 512 : (size_t)k->remaining;

		if (k->capturing && buf_add(&k->capture, b, take))
			return refuse(k, "load: out of memory");
		if (emit(k, b, 512))
			return -1;
		k->remaining -= take;
		return k->remaining ? 0 : on_entry_end(k);
	}
	{
		static const unsigned char zero[512];

		if (!memcmp(b, zero, 512)) {
			if (++k->zero_blocks == 2)
				k->done = 1;
			return emit(k, b, 512);
		}
	}
	k->zero_blocks = 0;
	if (on_header(k, b))
		return -1;
	return k->remaining ? 0 : on_entry_end(k);
}

static const char *compression(const unsigned char *b, size_t n)
{
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return "gzip";
	if (n >= 3 && !memcmp(b, "BZh", 3))
		return "bzip2";
	if (n >= 6 && !memcmp(b, "\xfd" "7zXZ\0", 6))
		return "xz";
	if (n >= 4 && !memcmp(b, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	return NULL;
}

/* The checker's whole life; returns 0 when the archive passed. */
static int check_stream(struct checker *k, int in)
{
	unsigned char block[512];
	size_t have = 0;
	int first = 1;

	for (;;) {
		ssize_t r = read(in, block + have, sizeof block - have);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return refuse(k, "load: cannot read the archive: %s", strerror(errno));
		if (r == 0)
			break;
		have += (size_t)r;
		if (first && have >= 6) {
			const char *c = compression(block, have);

			if (c)
				return refuse(k, "load not allowed: a %s-compressed archive (the image names inside cannot be checked; decompress it first)", c);
			first = 0;
		}
		if (have < sizeof block)
			continue;
		if (feed_block(k, block))
			return -1;
		have = 0;
	}
	if (have && !k->done)
		return refuse(k, "load not allowed: the archive ends in the middle of a block");
	if (have && emit(k, block, have))
		return -1;
	if (k->remaining || k->capturing || k->holding)
		return refuse(k, "load not allowed: the archive is cut short");
	return release(k);
}

static void drop_to(const struct ud_caller *c)
{
	if (setgroups(c->ngroups, c->groups) || setresgid(c->gid, c->gid, c->gid) ||
	    setresuid(c->uid, c->uid, c->uid) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		_exit(UD_EX_OSERR);
	if (c->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		_exit(UD_EX_OSERR);
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
	signals_hold();
	checker = fork();
	if (checker < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot fork");
	if (checker == 0) {
		struct checker k = { 0 };

		close(data[0]);
		close(report[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		drop_to(c);
		k.user = c->user_name;
		k.out = data[1];
		if (check_stream(&k, in)) {
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
		signal(SIGINT, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
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
		exit(128 + WTERMSIG(dstatus));
	exit(WEXITSTATUS(dstatus));
}
