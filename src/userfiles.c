/*
 * userfiles.c - the files docker's CLI would open for the user, opened by
 * the user instead.  Runs in the policy child, after the drop, so only
 * what the caller can read is read.
 *
 * --env-file and --label-file become --env/--label options (docker puts
 * the file entries before the flag values, whatever the argv order, so
 * they are inserted before the first of them); load --input becomes a
 * descriptor that root hands docker as its standard input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "userdocker.h"

#define KV_FILE_MAX (1u << 20)
#define KV_LINE_MAX 65536

struct kv_list {
	char **v;
	size_t n, cap;
};

static int kv_push(struct kv_list *l, char *s, struct ud_err *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **nv = cap > 131072 ? NULL : realloc(l->v, cap * sizeof *nv);

		if (!nv) {
			free(s);
			return ud_fail(err, UD_EX_USAGE, "too many entries in env/label files");
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
}

/* Read a whole file as the caller, bounded. */
static char *slurp(const char *path, size_t *len, struct ud_err *err)
{
	char *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ud_fail_errno(err, UD_EX_USAGE, "cannot open %s", path);
		return NULL;
	}
	buf = malloc(KV_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, KV_FILE_MAX + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ud_fail_errno(err, UD_EX_USAGE, "cannot read %s", path);
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > KV_FILE_MAX) {
			ud_fail(err, UD_EX_USAGE, "%s: larger than %u bytes", path, KV_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* docker's parseKeyValueFile: env files look bare keys up in the caller's
 * environment; label files drop them. */
static int parse_kv_file(const char *path, const struct ud_env *env, struct kv_list *out,
			 struct ud_err *err)
{
	size_t len, pos = 0, lineno = 0;
	char *buf = slurp(path, &len, err);

	if (!buf)
		return -1;
	while (pos < len) {
		char *line = buf + pos, *nl = memchr(line, '\n', len - pos), *eq, *kv;
		size_t llen = nl ? (size_t)(nl - line) : len - pos;

		pos += llen + (nl ? 1 : 0);
		lineno++;
		if (llen > KV_LINE_MAX)
			goto bad_line_len;
		if (llen && line[llen - 1] == '\r')
			llen--;
		line[llen] = '\0';
		if (memchr(line, '\0', llen) || !utf8_valid(line, llen)) {
			free(buf);
			return ud_fail(err, UD_EX_USAGE, "%s contains invalid utf8 bytes at line %zu",
				       path, lineno);
		}
		if (lineno == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
			line += 3;
		line += strspn(line, " \t\n\v\f\r");
		if (!*line || *line == '#')
			continue;
		eq = strchr(line, '=');
		if (eq)
			*eq = '\0';
		if (strpbrk(line, " \t")) {
			ud_fail(err, UD_EX_USAGE, "%s: variable '%s' contains whitespaces", path, line);
			free(buf);
			return -1;
		}
		if (!*line) {
			ud_fail(err, UD_EX_USAGE, "%s: no variable name on line %zu", path, lineno);
			free(buf);
			return -1;
		}
		if (eq) {
			if (asprintf(&kv, "%s=%s", line, eq + 1) < 0)
				goto oom;
		} else {
			const char *val = env ? env_lookup(env, line) : NULL;

			if (!val)
				continue;
			if (asprintf(&kv, "%s=%s", line, val) < 0)
				goto oom;
		}
		if (kv_push(out, kv, err)) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return 0;
bad_line_len:
	free(buf);
	return ud_fail(err, UD_EX_USAGE, "%s: line %zu is too long", path, lineno);
oom:
	free(buf);
	return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
}

/* Replace every `file_flag` option by `flag` options read from the files,
 * placed before the first of either. */
static int expand(struct ud_request *r, const char *file_flag, const char *flag,
		  const struct ud_env *env, struct ud_err *err)
{
	struct kv_list entries = { 0 };
	struct ud_request out = { 0 };
	const struct ud_flag *f = flag_lookup(r->subcmd, flag);
	size_t i, k;
	int inserted = 0, rc = -1;

	for (i = 0; i < r->nopts; i++)
		if (!strcmp(r->opts[i].flag->name, file_flag) &&
		    parse_kv_file(r->opts[i].value, env, &entries, err))
			goto done;
	if (!f)
		goto done;
	out.subcmd = r->subcmd;
	out.help = r->help;
	for (i = 0; i < r->nopts; i++) {
		const char *name = r->opts[i].flag->name;

		if (!inserted && (!strcmp(name, file_flag) || !strcmp(name, flag))) {
			for (k = 0; k < entries.n; k++)
				if (request_add_opt(&out, f, entries.v[k], err))
					goto done;
			inserted = 1;
		}
		if (!strcmp(name, file_flag))
			continue;
		if (request_add_opt(&out, r->opts[i].flag, r->opts[i].value, err))
			goto done;
	}
	for (i = 0; i < r->nargs; i++)
		if (request_add_arg(&out, r->args[i], err))
			goto done;
	request_free(r);
	*r = out;
	memset(&out, 0, sizeof out);
	rc = 0;
done:
	request_free(&out);
	for (k = 0; k < entries.n; k++)
		free(entries.v[k]);
	free(entries.v);
	return rc;
}

static int has_opt(const struct ud_request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nopts; i++)
		if (!strcmp(r->opts[i].flag->name, name))
			return 1;
	return 0;
}

/* Rebuild r without any `name` option. */
static int drop_opt(struct ud_request *r, const char *name, struct ud_err *err)
{
	struct ud_request out = { 0 };
	size_t i;

	out.subcmd = r->subcmd;
	out.help = r->help;
	for (i = 0; i < r->nopts; i++)
		if (strcmp(r->opts[i].flag->name, name) != 0 &&
		    request_add_opt(&out, r->opts[i].flag, r->opts[i].value, err))
			goto fail;
	for (i = 0; i < r->nargs; i++)
		if (request_add_arg(&out, r->args[i], err))
			goto fail;
	request_free(r);
	*r = out;
	return 0;
fail:
	request_free(&out);
	return -1;
}

int userfiles_expand(struct ud_request *r, const struct ud_env *env, int *input_fd,
		     struct ud_err *err)
{
	size_t i;

	*input_fd = -1;
	if (!r->subcmd)
		return 0;
	if (has_opt(r, "--env-file") && expand(r, "--env-file", "--env", env, err))
		return -1;
	if (has_opt(r, "--label-file") && expand(r, "--label-file", "--label", NULL, err))
		return -1;
	if (strcmp(r->subcmd, "load") != 0)
		return 0;
	for (i = 0; i < r->nopts; i++) {
		if (strcmp(r->opts[i].flag->name, "--input") != 0)
			continue;
		if (*input_fd >= 0)
			close(*input_fd);
		*input_fd = open(r->opts[i].value, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (*input_fd < 0)
			return ud_fail_errno(err, UD_EX_USAGE, "cannot open %s", r->opts[i].value);
	}
	return *input_fd >= 0 ? drop_opt(r, "--input", err) : 0;
}
