/*
 * sandbox.c - stage 6, root side: run the policy in a child that has
 * become the caller for good, and collect its verdict.
 *
 * MUST (the child):
 *  - drop supplementary groups, then gid, then uid (real, effective and
 *    saved); check all of them afterwards and that root cannot be regained;
 *  - be non-dumpable (the caller cannot ptrace it or read its memory) and
 *    set no_new_privs;
 *  - die with the parent, and run under hard CPU, memory, file-size and
 *    process limits, besides the Lua allocator cap and instruction hook.
 * MUST (the parent): bound the wait by a wall-clock deadline, kill and
 *  reap the child on any failure, and treat anything but one complete,
 *  well-formed message followed by a clean exit as a refusal.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "gpu.h"
#include "userdocker.h"
#include "wire.h"

#ifndef UD_POLICY_TIMEOUT
#define UD_POLICY_TIMEOUT 10
#endif

static const struct {
	int resource;
	rlim_t value;
} child_limits[] = {
	{ RLIMIT_CPU, UD_POLICY_TIMEOUT },
	{ RLIMIT_AS, 1024u << 20 },
	{ RLIMIT_CORE, 0 },
	{ RLIMIT_NPROC, 0 },
	{ RLIMIT_NOFILE, 128 },
};

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return (x > y) - (x < y);
}

int caller_drop(const struct ud_caller *c)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	gid_t now[UD_MAX_GROUPS], want[UD_MAX_GROUPS];
	int n;
	size_t i;

	if (setgroups(c->ngroups, c->groups) || setresgid(c->gid, c->gid, c->gid) ||
	    setresuid(c->uid, c->uid, c->uid))
		return -1;
	if (getresuid(&r, &e, &s) || r != c->uid || e != c->uid || s != c->uid)
		return -1;
	if (getresgid(&rg, &eg, &sg) || rg != c->gid || eg != c->gid || sg != c->gid)
		return -1;
	/* The kernel keeps the list sorted: compare as sets. */
	n = getgroups(UD_MAX_GROUPS, now);
	if (n < 0 || (size_t)n != c->ngroups)
		return -1;
	memcpy(want, c->groups, c->ngroups * sizeof want[0]);
	qsort(want, c->ngroups, sizeof want[0], cmp_gid);
	qsort(now, (size_t)n, sizeof now[0], cmp_gid);
	for (i = 0; i < c->ngroups; i++)
		if (now[i] != want[i]) {
			errno = EPERM;
			return -1;
		}
	if (c->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
		return -1;
	return 0;
}

/* In the child: become the caller, irrevocably.  Never returns on failure. */
static void drop_to_caller(const struct ud_caller *c, pid_t parent)
{
	size_t i;

#ifdef UD_POLICY_TOOL
	/* userdocker-policy run by a non-root admin: nothing to drop. */
	if (geteuid() != 0)
		goto limits;
#endif
	if (caller_drop(c))
		goto fail;
#ifdef UD_POLICY_TOOL
limits:
#endif
	/* Both are reset by the id change, so they come after it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		goto fail;
	if (getppid() != parent)
		_exit(UD_EX_SOFTWARE);
	for (i = 0; i < sizeof child_limits / sizeof child_limits[0]; i++) {
		struct rlimit rl = { child_limits[i].value, child_limits[i].value }, now_rl;

		/* Only ever lower: where root could not raise the caller's
		 * limit (no CAP_SYS_RESOURCE), the caller's own stays. */
		if (getrlimit(child_limits[i].resource, &now_rl))
			goto fail;
		/* CPU: SIGXCPU at the soft limit (reported as such); the
		 * kernel's SIGKILL at the hard one only if that is ignored. */
		if (child_limits[i].resource == RLIMIT_CPU)
			rl.rlim_max = rl.rlim_cur + 1;
		if (now_rl.rlim_max != RLIM_INFINITY && now_rl.rlim_max < rl.rlim_max)
			rl.rlim_cur = rl.rlim_max = now_rl.rlim_max;
		if (setrlimit(child_limits[i].resource, &rl))
			goto fail;
	}
	return;
fail:
	fprintf(stderr, "userdocker: policy sandbox: cannot drop privileges: %s\n",
		strerror(errno));
	_exit(UD_EX_SOFTWARE);
}

static void child_main(const struct ud_job *job, int fd, pid_t parent)
{
	struct ud_err err = { 0, "" };
	char **out = NULL;
	size_t n = 0, nfds = 0;
	int fds[WIRE_MAX_FDS];

	drop_to_caller(job->caller, parent);
	if (policy_run(job, fd, &out, &n, fds, &nfds, &err)) {
		char code[16];
		char *msg[3] = { "error", code, err.msg };

		snprintf(code, sizeof code, "%d", err.code);
		if (wire_send(fd, msg, 3, NULL, 0, &err))
			_exit(UD_EX_SOFTWARE);
		_exit(0);
	}
	if (wire_send(fd, out, n, fds, nfds, &err))
		_exit(UD_EX_SOFTWARE);
	_exit(0);
}

static int parse_error_code(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || (v != UD_EX_USAGE && v != UD_EX_CONFIG && v != UD_EX_DENIED &&
		     v != UD_EX_UNAVAIL && v != UD_EX_OSERR))
		return UD_EX_SOFTWARE;
	return (int)v;
}

static int dup_field(char **dst, const char *src, struct ud_err *err)
{
	*dst = strdup(src);
	if (!*dst)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	return 0;
}

/* Turn the child's message into a verdict; the request is re-parsed. */
static int decode(char **msg, size_t n, struct ud_verdict *v, struct ud_err *err)
{
	if (n == 3 && strcmp(msg[0], "error") == 0)
		return ud_fail(err, parse_error_code(msg[1]), "%s", msg[2]);
	if (n == 2 && strcmp(msg[0], "deny") == 0) {
		v->action = ACT_DENY;
		return dup_field(&v->message, msg[1], err);
	}
	if (n == 2 && strcmp(msg[0], "print") == 0) {
		v->action = ACT_PRINT;
		return dup_field(&v->message, msg[1], err);
	}
	if (n >= 9 && strcmp(msg[0], "exec") == 0) {
		v->action = ACT_EXEC;
		if (dup_field(&v->executor, msg[1], err) ||
		    dup_field(&v->executor_path, msg[2], err) ||
		    dup_field(&v->docker_socket, msg[3], err) ||
		    dup_field(&v->gpus, msg[4], err) || dup_field(&v->gpu_mode, msg[5], err) ||
		    dup_field(&v->exec_as, msg[6], err))
			return -1;
		v->pam_session = strcmp(msg[7], "1") == 0;
		if (argv_parse((int)(n - 8), msg + 8, &v->req, err)) {
			char copy[sizeof err->msg];

			snprintf(copy, sizeof copy, "%s", err->msg);
			return ud_fail(err, UD_EX_SOFTWARE,
				       "policy returned a request that does not parse: %s", copy);
		}
		return 0;
	}
	return ud_fail(err, UD_EX_SOFTWARE, "policy returned a malformed verdict");
}

/*
 * The fixed menu the child may ask from, each at most once: "gpus
 * NVIDIA_SMI DOCKER_SOCKET" (GPU facts; takes the GPU lock, see gpu.h).
 * Anything else ends the conversation as a failure.  Returns with the
 * child's final message in *msg.
 */
static int converse(int fd, struct ud_verdict *v, char ***msg, size_t *n, struct ud_err *err)
{
	struct timespec deadline;
	int asked_gpus = 0;

	for (;;) {
		struct dapi api = { 0 };
		struct ud_err aerr = { 0, "" };
		char **answer = NULL;
		size_t nanswer = 0;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += UD_POLICY_TIMEOUT;
		if (wire_recv(fd, &deadline, msg, n, err))
			return -1;
		wire_take_fds(v->fds, &v->nfds);
		if (*n == 0 || strcmp((*msg)[0], "ask") != 0)
			return 0;
		if (*n != 4 || strcmp((*msg)[1], "gpus") != 0 || asked_gpus++ || v->nfds) {
			strv_free(*msg);
			*msg = NULL;
			return ud_fail(err, UD_EX_SOFTWARE, "policy child asked an unknown question");
		}
		r = gpu_facts(&api, (*msg)[3], (*msg)[2], &v->gpu_lock_fd, &answer, &nanswer, &aerr);
		dapi_close(&api);
		strv_free(*msg);
		*msg = NULL;
		if (r) {
			char code[16];
			char *e[3] = { "error", code, aerr.msg };

			snprintf(code, sizeof code, "%d", aerr.code);
			r = wire_send(fd, e, 3, NULL, 0, err);
		} else {
			r = wire_send(fd, answer, nanswer, NULL, 0, err);
			strv_free(answer);
		}
		if (r)
			return -1;
	}
}

int sandbox_evaluate(const struct ud_job *job, struct ud_verdict *v, struct ud_err *err)
{
	char **msg = NULL;
	size_t n = 0;
	int sv[2], status, r;
	pid_t pid, self = getpid();

	v->gpu_lock_fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot create socket pair");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ud_fail_errno(err, UD_EX_OSERR, "cannot fork the policy child");
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(job, sv[1], self);
		_exit(UD_EX_SOFTWARE);
	}
	close(sv[1]);
	r = converse(sv[0], v, &msg, &n, err);
	close(sv[0]);
	if (r) {
		char why[sizeof err->msg];

		snprintf(why, sizeof why, "%s", err->msg);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU)
			return ud_fail(err, UD_EX_SOFTWARE, "policy exceeded its CPU time limit");
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && strstr(why, "no answer"))
			return ud_fail(err, UD_EX_SOFTWARE,
				       "policy child was killed (it hit a limit: CPU time or memory)");
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			return ud_fail(err, UD_EX_SOFTWARE, "policy child killed by signal %d",
				       WTERMSIG(status));
		if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
			return ud_fail(err, UD_EX_SOFTWARE, "policy child failed (status %d)",
				       WEXITSTATUS(status));
		return ud_fail(err, UD_EX_SOFTWARE, "policy child gave no verdict (%s)", why);
	}
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		strv_free(msg);
		return ud_fail(err, UD_EX_SOFTWARE, "policy child did not exit cleanly");
	}
	r = decode(msg, n, v, err);
	strv_free(msg);
	return r;
}
