/*
 * policy.c - stage 6, child side: the sandboxed Lua interpreter that runs
 * the policy engine and the admin's config files as the caller.
 *
 * The interpreter is built, not inherited (see ARCHITECTURE.md): only
 * base functions without dofile/loadfile/load/require/print/
 * collectgarbage, and the string (without dump), table, math and utf8
 * libraries; chunks are loaded as text, each with its own environment;
 * the string metatable is hidden; LUA_PATH, LUA_CPATH, LUA_INIT and the
 * working directory play no part.  Memory is capped by the allocator and
 * instructions by a count hook; the process limits in sandbox.c cover
 * time spent inside C functions.
 *
 * This file runs only after drop_to_caller(): everything it touches on
 * the file system (host.resolve, host.kind, host.probe) is checked with
 * the caller's own rights.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "config.h"
#include "mounts.h"
#include "userdocker.h"
#include "wire.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define POLICY_MEM_MAX (64u << 20)
#define POLICY_INSN_MAX 200000000L
#define HOOK_EVERY 10000

enum loglevel { LOG_DEBUG_, LOG_INFO_, LOG_WARNING_, LOG_ERROR_ };

struct policy_state {
	size_t mem_used;
	long insns;
	int min_level;
	const struct ud_job *job;
	int channel;          /* socket to the root parent, for questions */
	int gpu_code;         /* root's status when the GPU facts failed */
};

static struct policy_state ps;

static void *capped_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct policy_state *s = ud;

	if (ptr == NULL)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		s->mem_used -= osize;
		return NULL;
	}
	if (nsize > osize && s->mem_used + (nsize - osize) > POLICY_MEM_MAX)
		return NULL;
	ptr = realloc(ptr, nsize);
	if (ptr)
		s->mem_used = s->mem_used - osize + nsize;
	return ptr;
}

static void insn_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	ps.insns += HOOK_EVERY;
	if (ps.insns > POLICY_INSN_MAX)
		luaL_error(L, "policy exceeded its instruction limit");
}

static int level_of(const char *name)
{
	if (!strcmp(name, "debug") || !strcmp(name, "DEBUG"))
		return LOG_DEBUG_;
	if (!strcmp(name, "info") || !strcmp(name, "INFO"))
		return LOG_INFO_;
	if (!strcmp(name, "warning") || !strcmp(name, "WARNING"))
		return LOG_WARNING_;
	return LOG_ERROR_;
}

/* host.log(level, msg) */
static int h_log(lua_State *L)
{
	const char *level = luaL_checkstring(L, 1);
	const char *msg = luaL_checkstring(L, 2);
	int lv = level_of(level);

	/* --explain: the decision trail, always shown when asked for. */
	if (!strcmp(level, "explain")) {
		if (ps.job && ps.job->cli->explain)
			fprintf(stderr, "userdocker: explain: %s\n", msg);
		return 0;
	}
	if (lv >= ps.min_level)
		fprintf(stderr, "userdocker: %s%s\n",
			lv == LOG_DEBUG_ ? "debug: " : lv == LOG_WARNING_ ? "warning: " :
			lv == LOG_ERROR_ ? "error: " : "", msg);
	return 0;
}

/* host.resolve(path) -> real path, or nil, message (as the caller) */
static int h_resolve(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char buf[PATH_MAX];

	if (path[0] != '/') {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: not an absolute path", path);
		return 2;
	}
	if (!realpath(path, buf)) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, strerror(errno));
		return 2;
	}
	lua_pushstring(L, buf);
	return 1;
}

/* host.kind(path) -> "dir"|"file"|"other", or nil, message */
static int h_kind(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;

	if (stat(path, &st)) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, strerror(errno));
		return 2;
	}
	lua_pushstring(L, S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other");
	return 1;
}

/* host.probe(dir) -> true, or nil, message: wakes automounts up */
static int h_probe(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	DIR *d = opendir(path);
	int i;

	if (!d) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", path, strerror(errno));
		return 2;
	}
	for (i = 0; i < 3 && readdir(d); i++)
		;
	closedir(d);
	lua_pushboolean(L, 1);
	return 1;
}

/* host.match(regex, s): POSIX ERE matching at the start of s (re.match) */
static int h_match(lua_State *L)
{
	size_t plen, slen;
	const char *pat = luaL_checklstring(L, 1, &plen);
	const char *s = luaL_checklstring(L, 2, &slen);
	regmatch_t m[1];
	regex_t re;
	int rc;

	if (strlen(pat) != plen || strlen(s) != slen)
		return luaL_error(L, "regular expression or subject contains a NUL byte");
	rc = regcomp(&re, pat, REG_EXTENDED);
	if (rc) {
		char msg[256];

		regerror(rc, &re, msg, sizeof msg);
		return luaL_error(L, "invalid regular expression %s: %s", pat, msg);
	}
	rc = regexec(&re, s, 1, m, 0);
	regfree(&re);
	lua_pushboolean(L, rc == 0 && m[0].rm_so == 0);
	return 1;
}

/* host.flag(subcommand, name) -> canonical long name, "bool"|"value" */
static int h_flag(lua_State *L)
{
	const char *cmd = luaL_checkstring(L, 1);
	const char *name = luaL_checkstring(L, 2);
	const struct ud_flag *f = NULL;

	if (name[0] == '-' && name[1] == '-')
		f = flag_lookup(cmd, name);
	else if (name[0] == '-' && name[1] && !name[2])
		f = flag_lookup_short(cmd, name[1]);
	if (!f)
		return 0;
	if (f->canonical && strcmp(f->canonical, f->name) != 0)
		f = flag_lookup(cmd, f->canonical);
	if (!f)
		return 0;
	lua_pushstring(L, f->name);
	lua_pushstring(L, f->vtype == VT_BOOL ? "bool" : "value");
	return 2;
}

/* Split "INDEX MEM UID:ID,UID:ID" (or "-") into a Lua GPU table. */
static int push_gpu(lua_State *L, char *line)
{
	char *idx = strtok(line, " "), *mem = strtok(NULL, " "), *users = strtok(NULL, " ");
	char *save = NULL, *u;
	int k = 0;

	if (!idx || !mem || !users)
		return -1;
	lua_createtable(L, 0, 3);
	lua_pushinteger(L, strtol(idx, NULL, 10));
	lua_setfield(L, -2, "index");
	lua_pushinteger(L, strtol(mem, NULL, 10));
	lua_setfield(L, -2, "memory_used");
	lua_newtable(L);
	/* "-": nobody.  (strtok_r must never start with NULL: it would read
	 * the unset save pointer.) */
	for (u = strcmp(users, "-") ? strtok_r(users, ",", &save) : NULL; u;
	     u = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(u, ':');

		if (!colon)
			return -1;
		*colon = '\0';
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, strtol(u, NULL, 10));
		lua_setfield(L, -2, "uid");
		lua_pushstring(L, colon + 1);
		lua_setfield(L, -2, "id");
		lua_rawseti(L, -2, ++k);
	}
	lua_setfield(L, -2, "users");
	return 0;
}

/* host.gpus(nvidia_smi) -> GPU facts from root (see gpu.h), or error */
static int h_gpus(lua_State *L)
{
	const char *smi = luaL_checkstring(L, 1);
	const char *sock = NULL;
	struct ud_err err = { 0, "" };
	struct timespec deadline;
	char *ask[4] = { "ask", "gpus", (char *)smi, NULL };
	char **ans = NULL;
	size_t n = 0, i;

	lua_getfield(L, LUA_REGISTRYINDEX, "userdocker.socket");
	sock = lua_tostring(L, -1);
	ask[3] = (char *)(sock ? sock : "");
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 120;
	if (wire_send(ps.channel, ask, 4, NULL, 0, &err) ||
	    wire_recv(ps.channel, &deadline, &ans, &n, &err))
		return luaL_error(L, "GPU facts: %s", err.msg);
	if (n == 3 && !strcmp(ans[0], "error")) {
		/* nvidia-smi or the daemon failed, not the policy: the request
		 * ends with root's status for it, not a config error. */
		ps.gpu_code = (int)strtol(ans[1], NULL, 10);
		lua_pushfstring(L, "%s", ans[2]);
		strv_free(ans);
		return lua_error(L);
	}
	if (n < 1 || strcmp(ans[0], "gpus") != 0) {
		strv_free(ans);
		return luaL_error(L, "GPU facts: malformed answer");
	}
	lua_createtable(L, (int)n - 1, 0);
	for (i = 1; i < n; i++) {
		if (push_gpu(L, ans[i])) {
			strv_free(ans);
			return luaL_error(L, "GPU facts: malformed answer");
		}
		lua_rawseti(L, -2, (lua_Integer)i);
	}
	strv_free(ans);
	return 1;
}

static const luaL_Reg host_funcs[] = {
	{ "log", h_log },       { "resolve", h_resolve }, { "kind", h_kind },
	{ "probe", h_probe },   { "match", h_match },     { "flag", h_flag },
	{ "gpus", h_gpus },     { NULL, NULL },
};

static const char *const safe_base[] = {
	"assert", "error", "ipairs", "next", "pairs", "pcall", "xpcall", "select",
	"tonumber", "tostring", "type", "rawequal", "rawlen", "rawget", "rawset",
	"setmetatable", "getmetatable", NULL,
};

/* Push a fresh environment table holding only what a policy may use. */
static void push_sandbox_env(lua_State *L)
{
	static const char *const libs[] = { "string", "table", "math", "utf8", NULL };
	int i;

	lua_newtable(L);
	for (i = 0; safe_base[i]; i++) {
		lua_getglobal(L, safe_base[i]);
		lua_setfield(L, -2, safe_base[i]);
	}
	for (i = 0; libs[i]; i++) {
		/* A copy, so one chunk cannot swap a library function under another. */
		lua_newtable(L);
		lua_getglobal(L, libs[i]);
		lua_pushnil(L);
		while (lua_next(L, -2)) {
			lua_pushvalue(L, -2);
			lua_insert(L, -2);
			lua_settable(L, -5);
		}
		lua_pop(L, 1);
		if (strcmp(libs[i], "string") == 0) {
			lua_pushnil(L);
			lua_setfield(L, -2, "dump");
		}
		lua_setfield(L, -2, libs[i]);
	}
	lua_pushstring(L, LUA_VERSION);
	lua_setfield(L, -2, "_VERSION");
}

static lua_State *new_state(void)
{
	static const luaL_Reg libs[] = {
		{ LUA_GNAME, luaopen_base },        { LUA_STRLIBNAME, luaopen_string },
		{ LUA_TABLIBNAME, luaopen_table },  { LUA_MATHLIBNAME, luaopen_math },
		{ LUA_UTF8LIBNAME, luaopen_utf8 },  { NULL, NULL },
	};
	lua_State *L = lua_newstate(capped_alloc, &ps);
	const luaL_Reg *lib;

	if (!L)
		return NULL;
	lua_setwarnf(L, NULL, NULL);
	for (lib = libs; lib->func; lib++) {
		luaL_requiref(L, lib->name, lib->func, 1);
		lua_pop(L, 1);
	}
	/* Hide the shared string metatable from every chunk. */
	lua_pushliteral(L, "");
	lua_getmetatable(L, -1);
	lua_pushboolean(L, 0);
	lua_setfield(L, -2, "__metatable");
	lua_pop(L, 2);
	lua_sethook(L, insn_hook, LUA_MASKCOUNT, HOOK_EVERY);
	return L;
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (!msg)
		msg = luaL_typename(L, 1);
	lua_pushstring(L, msg);
	return 1;
}

/* Call the function below nargs arguments; returns 0 or -1 (message on top). */
static int pcall_msg(lua_State *L, int nargs, int nres)
{
	int base = lua_gettop(L) - nargs;
	int rc;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	rc = lua_pcall(L, nargs, nres, base);
	lua_remove(L, base);
	return rc == LUA_OK ? 0 : -1;
}

/*
 * Lua cuts chunk names to LUA_IDSIZE (60) characters in messages, so a
 * chunk is named by its path below the config or data directory and
 * messages get the directory back (lua_msg) before they are shown.
 */
static const char *short_name(const char *path)
{
	const char *dirs[] = { ps.job->files->base, PKGDATADIR };
	size_t i;

	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		size_t len = strlen(dirs[i]);

		if (len && strncmp(path, dirs[i], len) == 0 && path[len] == '/')
			return path + len + 1;
	}
	return path;
}

/* The message on top of the stack with every short chunk name made whole. */
static const char *lua_msg(lua_State *L)
{
	const struct ud_files *files = ps.job->files;
	const char *msg = lua_tostring(L, -1);
	size_t i;

	if (!msg)
		return "(error object is not a string)";
	size_t nfiles = files->nconfigs + files->npolicies;

	for (i = 0; i <= nfiles; i++) {
		const struct ud_file *f = i < nfiles ? &files->configs[i] : &files->engine;
		const char *s = short_name(f->path);
		size_t len = strlen(s);

		if (s != f->path && strncmp(msg, s, len) == 0 && msg[len] == ':') {
			lua_pushfstring(L, "%s%s", f->path, msg + len);
			return lua_tostring(L, -1);
		}
	}
	return msg;
}

static int load_chunk(lua_State *L, const struct ud_file *f, struct ud_err *err)
{
	char name[PATH_MAX + 2];

	snprintf(name, sizeof name, "@%s", short_name(f->path));
	if (luaL_loadbufferx(L, f->text, f->len, name, "t") != LUA_OK)
		return ud_fail(err, UD_EX_CONFIG, "%s", lua_msg(L));
	return 0;
}

static void push_strings(lua_State *L, char *const *v, size_t n)
{
	size_t i;

	lua_createtable(L, (int)n, 0);
	for (i = 0; i < n; i++) {
		lua_pushstring(L, v[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
}

static void push_caller(lua_State *L, const struct ud_caller *c)
{
	size_t i;

	lua_newtable(L);
	lua_pushinteger(L, c->uid);
	lua_setfield(L, -2, "uid");
	lua_pushinteger(L, c->gid);
	lua_setfield(L, -2, "gid");
	lua_pushstring(L, c->user_name);
	lua_setfield(L, -2, "user_name");
	lua_pushstring(L, c->group_name);
	lua_setfield(L, -2, "group_name");
	lua_pushstring(L, c->home);
	lua_setfield(L, -2, "user_home");
	push_strings(L, c->group_names, c->ngroups);
	lua_setfield(L, -2, "group_names");
	lua_createtable(L, (int)c->ngroups, 0);
	for (i = 0; i < c->ngroups; i++) {
		lua_pushinteger(L, c->groups[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "gids");
}

static void push_request(lua_State *L, const struct ud_request *r)
{
	size_t i;

	lua_newtable(L);
	if (r->subcmd) {
		lua_pushstring(L, r->subcmd);
		lua_setfield(L, -2, "subcommand");
	}
	lua_createtable(L, (int)r->nopts, 0);
	for (i = 0; i < r->nopts; i++) {
		lua_createtable(L, 0, 2);
		lua_pushstring(L, r->opts[i].flag->name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, r->opts[i].value);
		lua_setfield(L, -2, "value");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, "options");
	push_strings(L, r->args, r->nargs);
	lua_setfield(L, -2, "args");
	lua_pushboolean(L, r->help);
	lua_setfield(L, -2, "help");
}

static void push_ctx(lua_State *L, const struct ud_job *job)
{
	lua_newtable(L);
	push_caller(L, job->caller);
	lua_setfield(L, -2, "caller");
	if (job->cli->executor) {
		lua_pushstring(L, job->cli->executor);
		lua_setfield(L, -2, "executor");
	}
	if (job->env->nv_gpu) {
		lua_pushstring(L, job->env->nv_gpu);
		lua_setfield(L, -2, "nv_gpu");
	}
	lua_pushboolean(L, job->cli->debug);
	lua_setfield(L, -2, "debug");
	lua_pushboolean(L, job->cli->explain);
	lua_setfield(L, -2, "explain");
	lua_pushboolean(L, job->cli->quiet);
	lua_setfield(L, -2, "quiet");
	luaL_newlib(L, host_funcs);
	lua_setfield(L, -2, "host");
}

/* t[key] as a string, or NULL. */
static const char *field_str(lua_State *L, int t, const char *key)
{
	const char *s = NULL;

	lua_getfield(L, t, key);
	if (lua_type(L, -1) == LUA_TSTRING)
		s = lua_tostring(L, -1);
	lua_pop(L, 1);
	return s; /* still referenced by the table, so the pointer stays valid */
}

/* Convert the Lua request at index t into a C request. */
static int to_request(lua_State *L, int t, const char *subcmd, struct ud_request *out,
		      struct ud_err *err)
{
	lua_Integer i, n;

	out->subcmd = subcmd;
	lua_getfield(L, t, "options");
	if (!lua_istable(L, -1))
		return ud_fail(err, UD_EX_SOFTWARE, "policy result: request.options is not a table");
	n = (lua_Integer)lua_rawlen(L, -1);
	for (i = 1; i <= n; i++) {
		const struct ud_flag *f;
		const char *name, *value;

		lua_rawgeti(L, -1, i);
		if (!lua_istable(L, -1))
			return ud_fail(err, UD_EX_SOFTWARE, "policy result: option %lld is not a table",
				       (long long)i);
		name = field_str(L, -1, "name");
		value = field_str(L, -1, "value");
		if (!name || !value)
			return ud_fail(err, UD_EX_SOFTWARE,
				       "policy result: option %lld lacks a string name or value", (long long)i);
		f = flag_lookup(subcmd, name);
		if (!f)
			return ud_fail(err, UD_EX_SOFTWARE, "policy result: unknown option %s for %s",
				       name, subcmd);
		if (f->userdocker)
			return ud_fail(err, UD_EX_SOFTWARE,
				       "policy result: userdocker's own option %s left in the request", name);
		if (request_add_opt(out, f, value, err))
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_getfield(L, t, "args");
	if (!lua_istable(L, -1))
		return ud_fail(err, UD_EX_SOFTWARE, "policy result: request.args is not a table");
	n = (lua_Integer)lua_rawlen(L, -1);
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, i);
		if (lua_type(L, -1) != LUA_TSTRING)
			return ud_fail(err, UD_EX_SOFTWARE, "policy result: args[%lld] is not a string",
				       (long long)i);
		if (request_add_arg(out, lua_tostring(L, -1), err))
			return -1;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return 0;
}

static int make_vec(char ***out, size_t *n, size_t count, struct ud_err *err)
{
	*out = calloc(count + 1, sizeof **out);
	*n = count;
	if (!*out)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	return 0;
}

static int set_str(char **dst, const char *s, struct ud_err *err)
{
	*dst = strdup(s ? s : "");
	if (!*dst)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	return 0;
}

/* The result table on top of the stack -> the wire message. */
static int to_message(lua_State *L, const struct ud_job *job, int settings,
		      char ***out, size_t *n, int *fds, size_t *nfds, struct ud_err *err)
{
	int res = lua_gettop(L);
	const char *action = field_str(L, res, "action");
	struct ud_request req = { 0 };
	char **argv = NULL;
	size_t argc = 0, i;

	if (!action)
		return ud_fail(err, UD_EX_SOFTWARE, "policy result has no action");
	if (!strcmp(action, "deny") || !strcmp(action, "print")) {
		const char *text = field_str(L, res, !strcmp(action, "deny") ? "message" : "text");

		if (!text)
			return ud_fail(err, UD_EX_SOFTWARE, "policy result %s without text", action);
		if (make_vec(out, n, 2, err) || set_str(&(*out)[0], action, err) ||
		    set_str(&(*out)[1], text, err))
			return -1;
		return 0;
	}
	if (strcmp(action, "exec") != 0)
		return ud_fail(err, UD_EX_SOFTWARE, "policy result has an unknown action: %s", action);
	if (!job->req->subcmd)
		return ud_fail(err, UD_EX_SOFTWARE, "policy approved a request without a subcommand");
	lua_getfield(L, res, "request");
	if (!lua_istable(L, -1))
		return ud_fail(err, UD_EX_SOFTWARE, "policy result has no request");
	if (to_request(L, lua_gettop(L), job->req->subcmd, &req, err) ||
	    mounts_open(&req, fds, nfds, err) ||
	    argv_serialize(&req, &argv, &argc, err)) {
		request_free(&req);
		return -1;
	}
	request_free(&req);
	lua_pop(L, 1);
	if (make_vec(out, n, argc + 8, err))
		goto fail;
	if (set_str(&(*out)[0], "exec", err) ||
	    set_str(&(*out)[1], field_str(L, res, "executor"), err) ||
	    set_str(&(*out)[2], field_str(L, res, "executor_path"), err) ||
	    set_str(&(*out)[3], field_str(L, settings, "DOCKER_SOCKET"), err) ||
	    set_str(&(*out)[4], field_str(L, res, "gpus"), err) ||
	    set_str(&(*out)[5], field_str(L, res, "gpu_mode"), err) ||
	    set_str(&(*out)[6], field_str(L, res, "exec_as"), err))
		goto fail;
	lua_getfield(L, res, "pam_session");
	if (set_str(&(*out)[7], lua_toboolean(L, -1) ? "1" : "0", err))
		goto fail;
	lua_pop(L, 1);
	for (i = 0; i < argc; i++) {
		(*out)[i + 8] = argv[i];
		argv[i] = NULL;
	}
	strv_free(argv);
	return 0;
fail:
	strv_free(argv);
	return -1;
}

/* The engine and the files loaded, for --explain or --debug (tag). */
static void show_files(const struct ud_job *job, const char *tag)
{
	size_t i;

	fprintf(stderr, "userdocker: %s: engine %s\n", tag, job->files->engine.path);
	if (job->files->config_dir_missing || job->files->nconfigs == 0)
		fprintf(stderr, "userdocker: %s: no config files in %s/userdocker: built-in defaults\n",
			tag, SYSCONFDIR);
	for (i = 0; i < job->files->nconfigs + job->files->npolicies; i++)
		fprintf(stderr, "userdocker: %s: %s %s loaded\n", tag,
			i < job->files->nconfigs ? "config file" : "policy file",
			job->files->configs[i].path);
}

/* Evaluate everything; leaves the engine module at 1, settings at 2. */
static int evaluate(lua_State *L, const struct ud_job *job, char ***out, size_t *n,
		    int *fds, size_t *nfds, struct ud_err *err)
{
	const char *lvl;
	size_t i;

	if (load_chunk(L, &job->files->engine, err))
		return -1;
	push_sandbox_env(L);
	lua_setupvalue(L, -2, 1);
	if (pcall_msg(L, 0, 1) || !lua_istable(L, -1))
		return ud_fail(err, UD_EX_CONFIG, "policy engine failed to load: %s",
			       lua_isstring(L, -1) ? lua_tostring(L, -1) : "no module table");
	/* 1: M */
	lua_getfield(L, 1, "defaults");
	push_caller(L, job->caller);
	if (pcall_msg(L, 1, 1) || !lua_istable(L, -1))
		return ud_fail(err, UD_EX_SOFTWARE, "policy engine: defaults: %s",
			       lua_isstring(L, -1) ? lua_tostring(L, -1) : "not a table");
	/* 2: settings */
	for (i = 0; i < job->files->nconfigs + job->files->npolicies; i++) {
		const struct ud_file *f = &job->files->configs[i];

		/* 3: the settings before this file, so that record_origins can
		 * say where each one was set (for --explain, --debug and the
		 * file:line of a bad setting). */
		lua_getfield(L, 1, "snapshot");
		lua_pushvalue(L, 2);
		if (pcall_msg(L, 1, 1))
			return ud_fail(err, UD_EX_SOFTWARE, "policy engine: snapshot: %s", lua_tostring(L, -1));
		if (load_chunk(L, f, err))
			return -1;
		lua_getfield(L, 1, i < job->files->nconfigs ? "config_env" : "policy_env");
		lua_pushvalue(L, 2);
		push_caller(L, job->caller);
		if (pcall_msg(L, 2, 1))
			return ud_fail(err, UD_EX_SOFTWARE, "policy engine: config_env: %s",
				       lua_tostring(L, -1));
		lua_setupvalue(L, -2, 1);
		if (pcall_msg(L, 0, 0))
			return ud_fail(err, UD_EX_CONFIG, "%s", lua_msg(L));
		lua_getfield(L, 1, "record_origins");
		lua_pushvalue(L, 2);
		lua_pushvalue(L, 3);
		lua_pushstring(L, f->path);
		lua_pushlstring(L, f->text, f->len);
		if (pcall_msg(L, 4, 0))
			return ud_fail(err, UD_EX_SOFTWARE, "policy engine: record_origins: %s",
				       lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_getfield(L, 1, "check");
	lua_pushvalue(L, 2);
	luaL_newlib(L, host_funcs);
	if (pcall_msg(L, 2, 0))
		return ud_fail(err, UD_EX_CONFIG, "invalid settings: %s", lua_msg(L));
	lua_getfield(L, 2, "DOCKER_SOCKET");
	lua_setfield(L, LUA_REGISTRYINDEX, "userdocker.socket");
	lvl = field_str(L, 2, "LOGLVL");
	ps.min_level = job->cli->debug ? LOG_DEBUG_ : level_of(lvl ? lvl : "INFO");
	if (job->cli->quiet && ps.min_level < LOG_WARNING_)
		ps.min_level = LOG_WARNING_;
	if (job->cli->explain || job->cli->debug)
		show_files(job, job->cli->explain ? "explain" : "debug");
	if (job->cli->debug) {
		lua_getfield(L, 1, "dump");
		lua_pushvalue(L, 2);
		if (pcall_msg(L, 1, 1) == 0 && lua_isstring(L, -1))
			fprintf(stderr, "userdocker: debug: effective settings:\n%s\n",
				lua_tostring(L, -1));
		lua_pop(L, 1);
	}
	lua_getfield(L, 1, "decide");
	lua_pushvalue(L, 2);
	push_request(L, job->req);
	push_ctx(L, job);
	if (pcall_msg(L, 3, 1)) {
		if (ps.gpu_code > 0)
			return ud_fail(err, ps.gpu_code, "%s", lua_msg(L));
		return ud_fail(err, UD_EX_CONFIG, "policy failed: %s", lua_msg(L));
	}
	if (!lua_istable(L, -1))
		return ud_fail(err, UD_EX_SOFTWARE, "policy engine: decide returned no table");
	return to_message(L, job, 2, out, n, fds, nfds, err);
}

int policy_run(const struct ud_job *job, int channel, char ***out, size_t *n, int *fds,
	       size_t *nfds, struct ud_err *err)
{
	lua_State *L;
	int r, input_fd;

	ps.job = job;
	ps.channel = channel;
	ps.min_level = LOG_INFO_;
	L = new_state();
	if (!L)
		return ud_fail(err, UD_EX_SOFTWARE, "cannot create the policy interpreter");
	*nfds = 0;
	r = userfiles_expand(job->req, job->env, &input_fd, err);
	if (r == 0)
		r = evaluate(L, job, out, n, fds, nfds, err);
	/* load's input travels last, after any mount sources. */
	if (r == 0 && input_fd >= 0 && strcmp((*out)[0], "exec") == 0) {
		if (*nfds >= WIRE_MAX_FDS)
			r = ud_fail(err, UD_EX_DENIED, "too many files");
		else
			fds[(*nfds)++] = input_fd;
	}
	if (r && ps.insns > POLICY_INSN_MAX)
		err->code = UD_EX_SOFTWARE;
	else if (r && strstr(err->msg, "not enough memory"))
		ud_fail(err, UD_EX_SOFTWARE, "policy exceeded its memory limit (%u MiB)",
			POLICY_MEM_MAX >> 20);
	lua_close(L);
	return r;
}
