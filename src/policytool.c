/*
 * policytool.c - userdocker-policy, the admin's tool (never setuid):
 *
 *   userdocker-policy check [--user NAME]
 *       compile every config and policy file, then load them all as NAME
 *       (default: the invoking user) in the sandboxed policy child, exactly
 *       as userdocker would; errors are reported as file:line.
 *   userdocker-policy test DIR
 *       run the requests in DIR/cases against the config tree DIR/etc for
 *       the fixture users of DIR/users and compare the outcomes (TAP).
 *
 * It shares every stage with userdocker except PAM, the Engine API and
 * execution: what it reports is what userdocker would decide.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "config.h"
#include "userdocker.h"

extern int ud_trust_relaxed;

#define MAX_WORDS 256
#define MAX_USERS 256

static void usage(FILE *f)
{
	fputs("usage: userdocker-policy check [--user NAME]\n"
	      "       userdocker-policy test DIR\n", f);
}

/* ---- check ------------------------------------------------------------ */

/* Compile (never run) one file; 0 when it is valid Lua text. */
static int compile_file(lua_State *L, const char *path, int *bad)
{
	const char *rel = path + strlen(SYSCONFDIR "/userdocker/");
	struct ud_err err;
	struct ud_file f = { 0 };
	char name[PATH_MAX + 2];
	int r = trusted_read(path, &f, 0, &err);

	if (r) {
		printf("%s\n", err.msg);
		(*bad)++;
		return -1;
	}
	/* Lua cuts long chunk names in messages: name it below the config
	 * dir and put the dir back when printing. */
	snprintf(name, sizeof name, "@%s", rel);
	if (luaL_loadbufferx(L, f.text, f.len, name, "t") != LUA_OK) {
		const char *msg = lua_tostring(L, -1);

		if (strncmp(msg, rel, strlen(rel)) == 0)
			printf("%s/%s\n", SYSCONFDIR "/userdocker", msg);
		else
			printf("%s\n", msg);
		(*bad)++;
	}
	lua_settop(L, 0);
	free(f.text);
	free(f.path);
	return 0;
}

/* Every *.lua under dir (one level of subdirectories), compiled. */
static void compile_tree(lua_State *L, const char *dir, int depth, int *bad, int *count)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (depth == 0 && de->d_type == DT_DIR)
			compile_tree(L, path, 1, bad, count);
		else if (len > 4 && strcmp(de->d_name + len - 4, ".lua") == 0) {
			(*count)++;
			compile_file(L, path, bad);
		}
	}
	closedir(d);
}

/* A real user's identity, from NSS. */
static int caller_of(const char *name, struct ud_caller *c, struct ud_err *err)
{
	struct passwd *pw = name ? getpwnam(name) : getpwuid(getuid());
	int n = UD_MAX_GROUPS;
	size_t i;

	if (!pw)
		return ud_fail(err, UD_EX_USAGE, "no such user: %s", name ? name : "(you)");
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
	c->user_name = strdup(pw->pw_name);
	c->home = strdup(pw->pw_dir);
	if (getgrouplist(pw->pw_name, pw->pw_gid, c->groups, &n) < 0)
		return ud_fail(err, UD_EX_CONFIG, "%s is in too many groups", pw->pw_name);
	c->ngroups = (size_t)n;
	c->group_names = calloc(c->ngroups + 1, sizeof *c->group_names);
	if (!c->user_name || !c->home || !c->group_names)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	for (i = 0; i < c->ngroups; i++) {
		struct group *gr = getgrgid(c->groups[i]);
		char num[32];

		snprintf(num, sizeof num, "%u", (unsigned)c->groups[i]);
		c->group_names[i] = strdup(gr ? gr->gr_name : num);
		if (c->groups[i] == c->gid)
			c->group_name = strdup(gr ? gr->gr_name : num);
	}
	if (!c->group_name)
		c->group_name = strdup(c->user_name);
	snprintf(c->tty, sizeof c->tty, "userdocker-policy");
	snprintf(c->cwd, sizeof c->cwd, "/");
	return 0;
}

static int cmd_check(const char *user)
{
	static struct ud_caller caller;
	static struct ud_files files;
	static struct ud_env env;
	static struct ud_cli cli;
	static struct ud_request req;
	static struct ud_verdict v;
	struct ud_job job = { &cli, &caller, &files, &env, &req };
	struct ud_err err = { 0, "" };
	lua_State *L = luaL_newstate();
	int bad = 0, count = 0;

	if (L && geteuid() != 0) {
		lua_close(L);
		L = NULL;
		printf("userdocker-policy check must be run as root (it loads the config as the user, like userdocker)\n");
		return 1;
	}
	if (!L)
		return 1;
	compile_tree(L, SYSCONFDIR "/userdocker", 0, &bad, &count);
	lua_close(L);
	if (caller_of(user, &caller, &err) || config_load(&caller, &files, &err)) {
		printf("%s\n", err.msg);
		return 1;
	}
	req.help = 1;
	cli.quiet = 1;
	/* A file that does not compile would only be reported again. */
	if (!bad && sandbox_evaluate(&job, &v, &err)) {
		printf("%s\n", err.msg);
		bad++;
	}
	printf("%s: %d files compiled, %zu loaded for %s: %s\n", SYSCONFDIR "/userdocker", count,
	       files.nconfigs + files.npolicies, caller.user_name, bad ? "ERRORS" : "ok");
	return bad ? 1 : 0;
}

/* ---- test ------------------------------------------------------------- */

struct fixture_user {
	char name[64], home[PATH_MAX], groups[1024];
	uid_t uid;
	gid_t gid;
};

/* Shell-like words: spaces separate, '...' and "..." quote, \ escapes. */
static int split_words(char *s, char **w, int max)
{
	int n = 0;
	char *o = s;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == max)
			return -1;
		w[n++] = o;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				for (s++; *s && *s != '\''; s++)
					*o++ = *s;
				if (!*s)
					return -1;
				s++;
			} else if (*s == '"') {
				for (s++; *s && *s != '"'; s++) {
					if (*s == '\\' && s[1])
						s++;
					*o++ = *s;
				}
				if (!*s)
					return -1;
				s++;
			} else {
				if (*s == '\\' && s[1])
					s++;
				*o++ = *s++;
			}
		}
		if (*s)
			s++;
		*o++ = '\0';
	}
	return n;
}

static int load_users(const char *dir, struct fixture_user *u, size_t *n)
{
	char path[PATH_MAX + 16], line[2048];
	FILE *f;

	snprintf(path, sizeof path, "%s/users", dir);
	f = fopen(path, "r");
	if (!f) {
		printf("Bail out! cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	*n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned uid, gid;
		char name[64], home[1024], groups[1024] = "";

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63[^:]:%u:%u:%1023[^:\n]:%1023[^\n]", name, &uid, &gid, home, groups) < 4 ||
		    *n == MAX_USERS) {
			printf("Bail out! %s: malformed line: %s", path, line);
			fclose(f);
			return -1;
		}
		snprintf(u[*n].name, sizeof u[*n].name, "%s", name);
		snprintf(u[*n].home, sizeof u[*n].home, "%s", home);
		snprintf(u[*n].groups, sizeof u[*n].groups, "%s", groups);
		u[*n].uid = uid;
		u[*n].gid = gid;
		(*n)++;
	}
	fclose(f);
	return 0;
}

/* A fixture caller: groups are "name" or "name=gid"; unknown gids are
 * made up above 200000 so gid/ files can still be tested with =gid. */
static void fixture_caller(const struct fixture_user *u, struct ud_caller *c)
{
	char groups[1024], *save = NULL, *g;

	memset(c, 0, sizeof *c);
	c->uid = u->uid;
	c->gid = u->gid;
	c->user_name = strdup(u->name);
	c->home = strdup(u->home);
	c->group_names = calloc(UD_MAX_GROUPS + 1, sizeof *c->group_names);
	snprintf(groups, sizeof groups, "%s", u->groups);
	for (g = strtok_r(groups, ",", &save); g && c->ngroups < 64; g = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(g, '=');

		if (eq)
			*eq = '\0';
		c->groups[c->ngroups] = eq ? (gid_t)strtoul(eq + 1, NULL, 10) : 200000 + (gid_t)c->ngroups;
		c->group_names[c->ngroups++] = strdup(g);
	}
	c->group_name = strdup(c->ngroups ? c->group_names[0] : u->name);
	c->groups[c->ngroups] = c->gid;
	c->group_names[c->ngroups++] = strdup(c->group_name);
	snprintf(c->tty, sizeof c->tty, "userdocker-policy");
	snprintf(c->cwd, sizeof c->cwd, "/");
}

/* What userdocker would do: "allow COMMAND", "print TEXT" or "deny MESSAGE". */
static char *outcome(const char *base, struct ud_caller *caller, int argc, char **argv, int *allowed)
{
	static struct ud_env env;
	struct ud_files *files = calloc(1, sizeof *files);
	struct ud_cli cli = { 0 };
	struct ud_request req = { 0 };
	struct ud_verdict v = { 0 };
	struct ud_job job = { &cli, caller, files, &env, &req };
	struct ud_err err = { 0, "" };
	char **cmd = NULL, *line = NULL, *res = NULL;

	*allowed = 0;
	if (!files)
		return strdup("out of memory");
	if (cli_parse(argc, argv, &cli, &err) || config_load_from(base, caller, files, &err))
		goto done;
	if (cli.docker_argc > 0) {
		if (argv_parse(cli.docker_argc, cli.docker_argv, &req, &err))
			goto done;
	} else {
		req.help = 1;
	}
	cli.quiet = 1;
	if (sandbox_evaluate(&job, &v, &err))
		goto done;
	if (v.action == ACT_DENY) {
		ud_fail(&err, UD_EX_DENIED, "%s", v.message);
		goto done;
	}
	if (v.action == ACT_PRINT) {
		*allowed = 1;
		res = strdup(v.message);
		goto done;
	}
	if (verdict_check(&job, &v, &err) || verdict_argv(&v, &cmd, &err))
		goto done;
	line = shell_quote_argv(cmd);
	*allowed = 1;
	res = line;
	line = NULL;
done:
	if (!*allowed && !res)
		res = strdup(err.msg);
	free(line);
	strv_free(cmd);
	verdict_free(&v);
	request_free(&req);
	free(files);
	return res;
}

static int matches(const char *re_src, const char *s)
{
	regex_t re;
	int r;

	if (regcomp(&re, re_src, REG_EXTENDED | REG_NOSUB))
		return -1;
	r = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return r;
}

static int cmd_test(const char *dir_arg)
{
	static struct fixture_user users[MAX_USERS];
	char base[PATH_MAX + 16], path[PATH_MAX + 16], line[8192], dir[PATH_MAX];
	size_t nusers, k;
	int n = 0, failed = 0, lineno = 0;
	FILE *f;

	/* The config loader wants absolute paths: a relative DIR is taken
	 * from the current directory. */
	if (!realpath(dir_arg, dir)) {
		printf("Bail out! %s: %s\n", dir_arg, strerror(errno));
		return 1;
	}
	ud_trust_relaxed = 1;
	if (load_users(dir, users, &nusers))
		return 1;
	snprintf(base, sizeof base, "%s/etc", dir);
	snprintf(path, sizeof path, "%s/cases", dir);
	f = fopen(path, "r");
	if (!f) {
		printf("Bail out! cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f)) {
		char *words[MAX_WORDS + 1], *expect, *re, *out, copy[8192];
		struct fixture_user *u = NULL;
		struct ud_caller caller;
		int nw, allowed, ok;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		snprintf(copy, sizeof copy, "%s", line);
		nw = split_words(line, words + 1, MAX_WORDS - 1);
		if (nw < 3 || strcmp(words[3], "--") != 0) {
			printf("not ok %d - cases:%d: malformed (want: USER EXPECT -- ARGS...)\n", ++n, lineno);
			failed++;
			continue;
		}
		for (k = 0; k < nusers; k++)
			if (!strcmp(users[k].name, words[1]))
				u = &users[k];
		if (!u) {
			printf("not ok %d - cases:%d: unknown fixture user %s\n", ++n, lineno, words[1]);
			failed++;
			continue;
		}
		expect = words[2];
		re = strchr(expect, '~');
		if (re)
			*re++ = '\0';
		fixture_caller(u, &caller);
		/* words[3] ("--") stands in for argv[0]. */
		words[3] = "userdocker";
		words[nw + 1] = NULL;
		out = outcome(base, &caller, nw - 2, words + 3, &allowed);
		if (strcmp(expect, "allow") != 0 && strcmp(expect, "deny") != 0) {
			printf("not ok %d - cases:%d: EXPECT must be allow[~RE] or deny[~RE], not %s\n", ++n,
			       lineno, expect);
			failed++;
			free(out);
			continue;
		}
		ok = allowed == (strcmp(expect, "allow") == 0) &&
		     (!re || matches(re, out ? out : "") == 1);
		printf("%s %d - cases:%d: %s\n", ok ? "ok" : "not ok", ++n, lineno, copy);
		if (!ok) {
			printf("#   got: %s: %s\n", allowed ? "allowed" : "denied", out ? out : "?");
			failed++;
		}
		free(out);
	}
	fclose(f);
	printf("1..%d\n", n);
	if (failed)
		printf("# %d of %d cases failed\n", failed, n);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "check"))
		return cmd_check(NULL);
	if (argc == 4 && !strcmp(argv[1], "check") && !strcmp(argv[2], "--user"))
		return cmd_check(argv[3]);
	if (argc == 3 && !strcmp(argv[1], "test"))
		return cmd_test(argv[2]);
	usage(stderr);
	return 64;
}
