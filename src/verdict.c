/*
 * verdict.c - stage 8: what holds whatever the policy says.
 *
 * The policy's request was re-parsed from its canonical argv by the same
 * parser the user's argv went through.  Here root checks the wrapper's own
 * invariants on it and adds the ownership marks; the policy can neither
 * remove these checks nor forge the marks.
 */
#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "userdocker.h"

/* Subcommands this build executes. */
static const char *const supported[] = {
	"run", "ps", "images", "pull", "load", "version", "attach", "logs", "stop", "kill",
	"rm", "restart", "start", "wait", "top", "port", "stats", "inspect", "exec", "dockviz", NULL,
};

/* Options that make the root docker CLI read or write files, or hand the
 * container the daemon socket: never passed, whatever the policy says. */
static const struct {
	const char *cmd, *name, *why;
} forbidden[] = {
	{ "run", "--env-file", "the docker CLI would read the file as root" },
	{ "run", "--label-file", "the docker CLI would read the file as root" },
	{ "run", "--cidfile", "the docker CLI would write the file as root" },
	{ "run", "--use-api-socket", "it hands the container the docker socket" },
	{ "run", "--volumes-from", "another container's mounts cannot be checked" },
	{ "run", "--volume-driver", "a volume driver can mount any host path" },
	{ "load", "--input", "the docker CLI would read the file as root" },
};

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int seccomp_file(const char *value)
{
	const char *p;

	if (strncmp(value, "seccomp", 7) != 0 || (value[7] != '=' && value[7] != ':'))
		return 0;
	p = value + 8;
	return strcmp(p, "unconfined") != 0 && strcmp(p, "builtin") != 0;
}

static int socket_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 2 || n > 100 || s[0] != '/')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f || s[i] == '"' || s[i] == '\'' || s[i] == '\\')
			return 0;
	return 1;
}

/*
 * Binds must come as "--volume=/src:/dst[:mode]", whose source root opens
 * as the caller and stages (mounts.c).  A --mount could bind without that,
 * and the local volume driver binds any host path through volume-opt.
 */
static int mount_ok(const char *v, struct ud_err *err)
{
	char type[16] = "volume";
	const char *p = v;

	if (strpbrk(v, "\"\r\n"))
		return ud_fail(err, UD_EX_DENIED, "mount not allowed: --mount=%s (quotes and line breaks)", v);
	while (*p) {
		size_t len = strcspn(p, ","), klen = strcspn(p, "=,");

		if (klen == 4 && !strncasecmp(p, "type", 4) && p[4] == '=') {
			size_t tlen = len - 5;

			if (tlen >= sizeof type)
				tlen = sizeof type - 1;
			memcpy(type, p + 5, tlen);
			type[tlen] = '\0';
		}
		if ((klen == 10 && !strncasecmp(p, "volume-opt", 10)) ||
		    (klen == 13 && !strncasecmp(p, "volume-driver", 13)))
			return ud_fail(err, UD_EX_DENIED,
				       "mount not allowed: --mount=%s (volume drivers and their options can mount any host path)", v);
		p += len;
		if (*p == ',')
			p++;
	}
	if (strcasecmp(type, "volume") != 0 && strcasecmp(type, "tmpfs") != 0)
		return ud_fail(err, UD_EX_DENIED,
			       "mount not allowed: --mount=%s (binds must be given with -v, where they are checked)", v);
	return 0;
}

/* "/src:/dst[:mode]" (a bind, staged), "name:/dst[:mode]" or "/dst". */
static int volume_ok(const char *v, struct ud_err *err)
{
	static const char name_chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
	size_t nlen = strcspn(v, ":");

	if (v[0] == '/')
		return 0;
	if (v[nlen] == ':' && nlen >= 2 && isalnum((unsigned char)v[0]) &&
	    strspn(v, name_chars) == nlen)
		return 0;
	return ud_fail(err, UD_EX_DENIED,
		       "mount not allowed: %s (a bind needs an absolute source, a volume a plain name)", v);
}

static int check_options(const struct ud_request *r, struct ud_err *err)
{
	size_t i, k;

	for (i = 0; i < r->nopts; i++) {
		const char *name = r->opts[i].flag->name, *val = r->opts[i].value;

		for (k = 0; k < sizeof forbidden / sizeof forbidden[0]; k++)
			if (!strcmp(r->subcmd, forbidden[k].cmd) && !strcmp(name, forbidden[k].name))
				return ud_fail(err, UD_EX_DENIED, "option not allowed: %s (%s)",
					       name, forbidden[k].why);
		if (!strcmp(name, "--mount") && mount_ok(val, err))
			return -1;
		if (!strcmp(name, "--volume") && volume_ok(val, err))
			return -1;
		if (!strcmp(name, "--security-opt") && seccomp_file(val))
			return ud_fail(err, UD_EX_DENIED,
				       "option not allowed: --security-opt=%s (the docker CLI would read the profile file as root)",
				       val);
		/* Content trust (on with =false): the root CLI would contact a
		 * notary server of the user's choosing and write its metadata
		 * into the shared root-owned config directory. */
		if (!strcmp(name, "--disable-content-trust") && strcmp(val, "true") != 0)
			return ud_fail(err, UD_EX_DENIED,
				       "option not allowed: --disable-content-trust=%s (content trust makes the root docker CLI fetch and store trust data)",
				       val);
		if (!strcmp(name, "--label") && !strncasecmp(val, "userdocker.", 11))
			return ud_fail(err, UD_EX_DENIED,
				       "label not allowed: %s (userdocker.* labels are set by userdocker only)", val);
		if (!strcmp(name, "--env") && !strncasecmp(val, "USERDOCKER", 10))
			return ud_fail(err, UD_EX_DENIED,
				       "env not allowed: %s (USERDOCKER* variables are set by userdocker only)", val);
	}
	return 0;
}

static int random_hex(char *out, size_t size, struct ud_err *err)
{
	unsigned char rnd[16];
	size_t i;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
		if (fd >= 0)
			close(fd);
		return ud_fail_errno(err, UD_EX_OSERR, "cannot read /dev/urandom");
	}
	close(fd);
	for (i = 0; i < sizeof rnd && 2 * i + 2 < size; i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

static int add_mark(struct ud_request *r, const char *flag, const char *key, const char *val,
		    struct ud_err *err)
{
	char buf[512];

	snprintf(buf, sizeof buf, "%s=%s", key, val);
	return request_add_opt(r, flag_lookup(r->subcmd, flag), buf, err);
}

/*
 * GPUs only through the reservation: a --gpus, --runtime=nvidia or
 * NVIDIA_VISIBLE_DEVICES must say exactly what was reserved, and NVIDIA
 * device nodes are never passed by path.
 */
static int check_gpus(const struct ud_verdict *v, struct ud_err *err)
{
	const struct ud_request *r = &v->req;
	const char *g = v->gpus ? v->gpus : "";
	char want[96];
	size_t i;

	if (*g && (strspn(g, "0123456789,") != strlen(g) || g[0] == ',' ||
		   g[strlen(g) - 1] == ',' || strstr(g, ",,") || strlen(g) > 64))
		return ud_fail(err, UD_EX_SOFTWARE, "policy reserved malformed GPUs: %s", g);
	snprintf(want, sizeof want, "\"device=%s\"", g);
	for (i = 0; i < r->nopts; i++) {
		const char *name = r->opts[i].flag->name, *val = r->opts[i].value;

		if (!strcmp(name, "--gpus") && (!*g || strcmp(val, want) != 0))
			return ud_fail(err, UD_EX_DENIED, "option not allowed: --gpus=%s (GPUs come from the reservation: %s)",
				       val, *g ? g : "none");
		if (!strcmp(name, "--runtime") && !strcmp(val, "nvidia") &&
		    (!*g || strcmp(v->gpu_mode, "runtime") != 0))
			return ud_fail(err, UD_EX_DENIED, "option not allowed: --runtime=nvidia (no GPUs reserved)");
		if (!strcmp(name, "--env") && !strncmp(val, "NVIDIA_VISIBLE_DEVICES=", 23) &&
		    (!*g || strcmp(val + 23, g) != 0))
			return ud_fail(err, UD_EX_DENIED, "env not allowed: %s (GPUs come from the reservation: %s)",
				       val, *g ? g : "none");
		if (!strcmp(name, "--device") && !strncmp(val, "/dev/nvidia", 11))
			return ud_fail(err, UD_EX_DENIED, "option not allowed: --device=%s (GPUs come from the reservation)",
				       val);
	}
	return 0;
}

static int session_id_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 32;
}

static int add_marks(const struct ud_job *job, struct ud_verdict *v, struct ud_err *err)
{
	struct ud_request *r = &v->req;
	const char *sess;
	char uid[32];

	if (v->gpus && v->gpus[0] &&
	    (add_mark(r, "--label", "userdocker.gpus", v->gpus, err) ||
	     add_mark(r, "--env", "USERDOCKER_NV_GPU", v->gpus, err)))
		return -1;
	/* No reservation, no GPU: an nvidia runtime (default, or added by a
	 * wrapper) would otherwise expose what an image's own
	 * NVIDIA_VISIBLE_DEVICES=all asks for.  Last wins, so this comes last. */
	if ((!v->gpus || !v->gpus[0]) &&
	    add_mark(r, "--env", "NVIDIA_VISIBLE_DEVICES", "none", err))
		return -1;
	if (v->gpu_lock_fd >= 0) {
		if (random_hex(v->token, sizeof v->token, err) ||
		    add_mark(r, "--label", "userdocker.token", v->token, err))
			return -1;
	}
	/* The login session's id from pam_userdocker's `record` (exactly 32
	 * lowercase hex digits; anything else is ignored).  It grants nothing:
	 * it only picks which of the caller's own containers a session_only
	 * close removes. */
	sess = job->env ? env_lookup(job->env, "USERDOCKER_SESSION") : NULL;
	if (sess && session_id_ok(sess) &&
	    add_mark(r, "--label", "userdocker.session", sess, err))
		return -1;
	snprintf(uid, sizeof uid, "%u", (unsigned)job->caller->uid);
	return add_mark(r, "--label", "userdocker.owner.uid", uid, err) ||
	       add_mark(r, "--label", "userdocker.owner.name", job->caller->user_name, err) ||
	       add_mark(r, "--label", "userdocker.version", PACKAGE_VERSION, err) ||
	       add_mark(r, "--env", "USERDOCKER", PACKAGE_VERSION, err) ||
	       add_mark(r, "--env", "USERDOCKER_USER", job->caller->user_name, err) ||
	       add_mark(r, "--env", "USERDOCKER_UID", uid, err);
}

int verdict_check(const struct ud_job *job, struct ud_verdict *v, struct ud_err *err)
{
	struct ud_request *r = &v->req;

	if (!r->subcmd || !job->req->subcmd || strcmp(r->subcmd, job->req->subcmd) != 0)
		return ud_fail(err, UD_EX_SOFTWARE, "policy changed the subcommand");
	if (!in_list(r->subcmd, supported))
		return ud_fail(err, UD_EX_DENIED, "subcommand not available in this version: %s",
			       r->subcmd);
	if (r->help)
		return ud_fail(err, UD_EX_SOFTWARE, "policy returned a help request");
	if (!v->executor_path || v->executor_path[0] != '/')
		return ud_fail(err, UD_EX_CONFIG, "executor %s: path is not absolute",
			       v->executor ? v->executor : "?");
	if (!socket_ok(v->docker_socket))
		return ud_fail(err, UD_EX_CONFIG, "DOCKER_SOCKET is not a plain absolute path: %s",
			       v->docker_socket);
	if (check_options(r, err))
		return -1;
	if (!strcmp(r->subcmd, "run")) {
		if (r->nargs < 1 || r->args[0][0] == '-' || r->args[0][0] == '\0')
			return ud_fail(err, UD_EX_DENIED, "image not allowed: %s",
				       r->nargs ? r->args[0] : "(none)");
		if (check_gpus(v, err) || add_marks(job, v, err))
			return -1;
	}
	return 0;
}

int verdict_argv(const struct ud_verdict *v, char ***argv, struct ud_err *err)
{
	char **body = NULL, **out;
	size_t n = 0, i;

	if (argv_serialize(&v->req, &body, &n, err))
		return -1;
	out = calloc(n + 2, sizeof *out);
	if (!out) {
		strv_free(body);
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	}
	out[0] = strdup(v->executor_path);
	if (!out[0]) {
		free(out);
		strv_free(body);
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	}
	for (i = 0; i < n; i++)
		out[i + 1] = body[i];
	free(body);
	*argv = out;
	return 0;
}

void verdict_free(struct ud_verdict *v)
{
	free(v->message);
	free(v->executor);
	free(v->executor_path);
	free(v->docker_socket);
	free(v->gpus);
	free(v->gpu_mode);
	free(v->exec_as);
	request_free(&v->req);
}
