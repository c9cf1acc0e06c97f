/*
 * config.c - stage 4: read the config and policy files, as root, but only
 * files an unprivileged user cannot have written.
 *
 * MUST: every file is opened with O_NOFOLLOW and checked on the open
 * descriptor (regular, owned by root, not writable by group or others);
 * the directory holding it and every parent up to / is checked the same
 * way (owned by root, not group/other writable), so no user can swap a
 * file in.  Any failure names the file and nothing runs.
 *
 * Load order (the reference's): config.lua, group/config_NN_<group>.lua,
 * gid/config_NN_<gid>.lua (NN ascending, then name), user/config_<name>.lua,
 * uid/config_<uid>.lua.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "userdocker.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/userdocker"
#endif

#ifdef UD_POLICY_TOOL
/* Only in userdocker-policy (never setuid): `test DIR` reads an admin's
 * fixture tree, which need not belong to root. */
int ud_trust_relaxed;
#define TRUST_RELAXED ud_trust_relaxed
#else
#define TRUST_RELAXED 0
#endif

static int check_owner_mode(const char *path, const struct stat *st, int want_dir,
			    struct ud_err *err)
{
	if (want_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return ud_fail(err, UD_EX_CONFIG, "refusing %s: not a %s", path,
			       want_dir ? "directory" : "regular file");
	if (TRUST_RELAXED)
		return 0;
	if (st->st_uid != 0)
		return ud_fail(err, UD_EX_CONFIG, "refusing %s: owned by uid %u, not root",
			       path, (unsigned)st->st_uid);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return ud_fail(err, UD_EX_CONFIG,
			       "refusing %s: writable by group or others (mode %04o)", path,
			       (unsigned)(st->st_mode & 07777));
	return 0;
}

int trusted_dir(const char *path, struct ud_err *err)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t len = strlen(path);

	if (path[0] != '/' || len >= sizeof buf)
		return ud_fail(err, UD_EX_CONFIG, "refusing %s: not an absolute path", path);
	memcpy(buf, path, len + 1);
	for (;;) {
		char *slash;

		if (lstat(buf, &st))
			return ud_fail_errno(err, UD_EX_CONFIG, "cannot check %s", buf);
		if (S_ISLNK(st.st_mode) && !TRUST_RELAXED)
			return ud_fail(err, UD_EX_CONFIG, "refusing %s: a symbolic link", buf);
		if (check_owner_mode(buf, &st, 1, err))
			return -1;
		if (strcmp(buf, "/") == 0)
			return 0;
		slash = strrchr(buf, '/');
		if (slash == buf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
}

static int dir_of_is_trusted(const char *path, struct ud_err *err)
{
	char buf[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof buf)
		return ud_fail(err, UD_EX_CONFIG, "path too long: %s", path);
	snprintf(buf, sizeof buf, "%s", path);
	slash = strrchr(buf, '/');
	if (!slash)
		return ud_fail(err, UD_EX_CONFIG, "refusing %s: not an absolute path", path);
	if (slash == buf)
		slash[1] = '\0';
	else
		*slash = '\0';
	return trusted_dir(buf, err);
}

/* Returns 1 when missing (and missing_ok), 0 when read, -1 on error. */
int trusted_read(const char *path, struct ud_file *out, int missing_ok,
		 struct ud_err *err)
{
	struct stat st;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && missing_ok)
			return 1;
		if (errno == ELOOP)
			return ud_fail(err, UD_EX_CONFIG, "refusing %s: a symbolic link", path);
		return ud_fail_errno(err, UD_EX_CONFIG, "cannot open %s", path);
	}
	if (fstat(fd, &st)) {
		ud_fail_errno(err, UD_EX_CONFIG, "cannot check %s", path);
		goto fail;
	}
	if (check_owner_mode(path, &st, 0, err) || dir_of_is_trusted(path, err))
		goto fail;
	if (st.st_size < 0 || (size_t)st.st_size > UD_MAX_FILE_BYTES) {
		ud_fail(err, UD_EX_CONFIG, "refusing %s: larger than %u bytes", path,
			UD_MAX_FILE_BYTES);
		goto fail;
	}
	out->text = malloc((size_t)st.st_size + 1);
	out->path = strdup(path);
	if (!out->text || !out->path) {
		ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, out->text + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ud_fail_errno(err, UD_EX_CONFIG, "cannot read %s", path);
			goto fail;
		}
		got += (size_t)r;
	}
	out->text[got] = '\0';
	out->len = got;
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static int add_file(struct ud_files *f, const char *path, struct ud_err *err)
{
	int r;

	if (f->nconfigs >= UD_MAX_CONFIG_FILES)
		return ud_fail(err, UD_EX_CONFIG, "too many config files (more than %d)",
			       UD_MAX_CONFIG_FILES);
	r = trusted_read(path, &f->configs[f->nconfigs], 1, err);
	if (r < 0)
		return -1;
	if (r == 0)
		f->nconfigs++;
	return 0;
}

/* A "config_NN_<key>.lua" name: returns NN, or -1. */
static int prio_for(const char *name, const char *key)
{
	size_t klen = strlen(key);

	if (strncmp(name, "config_", 7) != 0 || name[7] < '0' || name[7] > '9' ||
	    name[8] < '0' || name[8] > '9' || name[9] != '_')
		return -1;
	if (strncmp(name + 10, key, klen) != 0 || strcmp(name + 10 + klen, ".lua") != 0)
		return -1;
	return (name[7] - '0') * 10 + (name[8] - '0');
}

struct prio_name {
	int prio;
	char name[NAME_MAX + 1];
};

static int cmp_prio(const void *a, const void *b)
{
	const struct prio_name *x = a, *y = b;

	if (x->prio != y->prio)
		return x->prio - y->prio;
	return strcmp(x->name, y->name);
}

/* group/ or gid/: files whose key is one of keys[], in NN then name order. */
static int add_prio_dir(struct ud_files *f, const char *dir, char *const *keys,
			size_t nkeys, struct ud_err *err)
{
	struct prio_name found[UD_MAX_CONFIG_FILES];
	size_t nfound = 0, i, k;
	struct dirent *de;
	DIR *d;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return ud_fail_errno(err, UD_EX_CONFIG, "cannot read %s", dir);
	}
	if (trusted_dir(dir, err)) {
		closedir(d);
		return -1;
	}
	while ((de = readdir(d))) {
		for (k = 0; k < nkeys; k++) {
			int prio = prio_for(de->d_name, keys[k]);

			if (prio < 0)
				continue;
			if (nfound >= UD_MAX_CONFIG_FILES) {
				closedir(d);
				return ud_fail(err, UD_EX_CONFIG, "too many files in %s", dir);
			}
			found[nfound].prio = prio;
			snprintf(found[nfound].name, sizeof found[nfound].name, "%s", de->d_name);
			nfound++;
			break;
		}
	}
	closedir(d);
	qsort(found, nfound, sizeof found[0], cmp_prio);
	for (i = 0; i < nfound; i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof path, "%s/%s", dir, found[i].name);
		if (add_file(f, path, err))
			return -1;
	}
	return 0;
}

int trusted_program(const char *path, const char *what, struct ud_err *err)
{
	struct stat st;
	char dir[PATH_MAX];
	char *slash;

	if (path[0] != '/')
		return ud_fail(err, UD_EX_CONFIG, "%s %s: not an absolute path", what, path);
	if (stat(path, &st))
		return ud_fail_errno(err, UD_EX_CONFIG, "%s %s", what, path);
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
	    !(st.st_mode & S_IXUSR))
		return ud_fail(err, UD_EX_CONFIG,
			       "%s %s must be a root-owned executable file not writable by group or others",
			       what, path);
	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return trusted_dir(dir, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* policy.d/\*.lua in lexical order, after every settings file. */
static int add_policy_dir(struct ud_files *f, const char *dir, struct ud_err *err)
{
	char *names[UD_MAX_CONFIG_FILES];
	size_t n = 0, i, before = f->nconfigs;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : ud_fail_errno(err, UD_EX_CONFIG, "cannot read %s", dir);
	if (trusted_dir(dir, err)) {
		closedir(d);
		return -1;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 5 || strcmp(de->d_name + len - 4, ".lua") != 0)
			continue;
		if (n >= UD_MAX_CONFIG_FILES || !(names[n] = strdup(de->d_name))) {
			rc = ud_fail(err, UD_EX_CONFIG, "too many files in %s", dir);
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof names[0], cmp_str);
	for (i = 0; i < n && rc == 0; i++) {
		char path[PATH_MAX];

		if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
			rc = ud_fail(err, UD_EX_CONFIG, "path too long: %s/%s", dir, names[i]);
		else
			rc = add_file(f, path, err);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	f->npolicies = f->nconfigs - before;
	f->nconfigs = before;
	return rc;
}

int config_load(const struct ud_caller *c, struct ud_files *f, struct ud_err *err)
{
	return config_load_from(SYSCONFDIR "/userdocker", c, f, err);
}

int config_load_from(const char *base, const struct ud_caller *c, struct ud_files *f,
		     struct ud_err *err)
{
	char path[PATH_MAX];
	char **gids;
	struct stat st;
	size_t i;
	int r;

	snprintf(f->base, sizeof f->base, "%s", base);
	if (trusted_read(PKGDATADIR "/engine.lua", &f->engine, 0, err))
		return -1;
	if (stat(base, &st) && errno == ENOENT) {
		f->config_dir_missing = 1;
		return 0;
	}
	if (trusted_dir(base, err))
		return -1;
	snprintf(path, sizeof path, "%s/config.lua", base);
	if (add_file(f, path, err))
		return -1;

	snprintf(path, sizeof path, "%s/group", base);
	if (add_prio_dir(f, path, c->group_names, c->ngroups, err))
		return -1;

	gids = calloc(c->ngroups + 1, sizeof *gids);
	if (!gids)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	for (i = 0; i < c->ngroups; i++) {
		if (asprintf(&gids[i], "%u", (unsigned)c->groups[i]) < 0) {
			strv_free(gids);
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		}
	}
	snprintf(path, sizeof path, "%s/gid", base);
	r = add_prio_dir(f, path, gids, c->ngroups, err);
	strv_free(gids);
	if (r)
		return -1;

	snprintf(path, sizeof path, "%s/user/config_%s.lua", base, c->user_name);
	if (strchr(c->user_name, '/') == NULL && add_file(f, path, err))
		return -1;
	snprintf(path, sizeof path, "%s/uid/config_%u.lua", base, (unsigned)c->uid);
	if (add_file(f, path, err))
		return -1;
	snprintf(path, sizeof path, "%s/policy.d", base);
	return add_policy_dir(f, path, err);
}
