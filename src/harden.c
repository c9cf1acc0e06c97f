/*
 * harden.c - stage 1: make the process safe to run as root before it
 * looks at anything the caller controls.
 *
 * MUST, in this order:
 *  1. refuse argc == 0 (argv[1] would be envp[0]);
 *  2. fds 0-2 open (/dev/null where closed), every other fd closed, so no
 *     inherited descriptor reaches docker and our own files cannot land on
 *     0-2 and be mistaken for terminal output;
 *  3. non-dumpable, no core files;
 *  4. signals at their defaults and unblocked;
 *  5. resource limits raised so the caller cannot make us fail half-way
 *     (the policy child gets its own, smaller ones);
 *  6. the environment copied out as data and replaced by a fixed one.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "userdocker.h"

extern char **environ;

static int fix_std_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
			int nfd = open("/dev/null", O_RDWR);

			if (nfd != fd)
				return -1;
		}
	}
	return 0;
}

static void close_other_fds(void)
{
	long max, fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

static void reset_signals(void)
{
	sigset_t all;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		signal(sig, SIG_DFL);
	}
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/* Limits the caller could lower to make us fail part-way through: raised
 * to `want` where root may (CAP_SYS_RESOURCE; a container without it
 * cannot), and refused when still below `need`, the least that userdocker,
 * its policy child and the docker CLI (a Go program that reserves about
 * 1 GiB of address space at start) are known to work with.  Refusing at
 * entry is one clear line; a limit hit later would fail half-way. */
static const struct {
	int resource;
	const char *name, *ulimit;
	rlim_t want, need;
} raise_limits[] = {
	{ RLIMIT_AS, "RLIMIT_AS (address space)", "ulimit -v", RLIM_INFINITY, (rlim_t)2 << 30 },
	{ RLIMIT_DATA, "RLIMIT_DATA (data size)", "ulimit -d", RLIM_INFINITY, (rlim_t)2 << 30 },
	{ RLIMIT_STACK, "RLIMIT_STACK (stack size)", "ulimit -s", 8u << 20, 1u << 20 },
	{ RLIMIT_FSIZE, "RLIMIT_FSIZE (file size; the audit log grows)", "ulimit -f", RLIM_INFINITY,
	  RLIM_INFINITY },
	{ RLIMIT_CPU, "RLIMIT_CPU (CPU time)", "ulimit -t", RLIM_INFINITY, 0 },
	{ RLIMIT_NOFILE, "RLIMIT_NOFILE (open files)", "ulimit -n", 1024, 64 },
	{ RLIMIT_NPROC, "RLIMIT_NPROC (processes)", "ulimit -u", RLIM_INFINITY, 0 },
};

static int raise_own_limits(struct ud_err *err)
{
	struct rlimit rl = { 0, 0 };
	size_t i;

	setrlimit(RLIMIT_CORE, &rl);
	for (i = 0; i < sizeof raise_limits / sizeof raise_limits[0]; i++) {
		if (getrlimit(raise_limits[i].resource, &rl))
			continue;
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < raise_limits[i].want) {
			struct rlimit up = rl;

			up.rlim_cur = raise_limits[i].want;
			if (up.rlim_max != RLIM_INFINITY && up.rlim_max < up.rlim_cur)
				up.rlim_max = up.rlim_cur;
			if (setrlimit(raise_limits[i].resource, &up) == 0)
				continue;
			/* Without CAP_SYS_RESOURCE: as far as the hard limit. */
			up.rlim_cur = rl.rlim_max;
			up.rlim_max = rl.rlim_max;
			if (setrlimit(raise_limits[i].resource, &up) == 0)
				rl = up;
		}
		if (rl.rlim_cur != RLIM_INFINITY &&
		    (raise_limits[i].need == RLIM_INFINITY || rl.rlim_cur < raise_limits[i].need)) {
			/* We stop here; the audit record of the refusal must
			 * not die of SIGXFSZ on the way. */
			if (raise_limits[i].resource == RLIMIT_FSIZE)
				signal(SIGXFSZ, SIG_IGN);
			if (raise_limits[i].need == RLIM_INFINITY)
				return ud_fail(err, UD_EX_OSERR,
					       "resource limit too low: %s is %llu, userdocker needs it unlimited (%s)",
					       raise_limits[i].name, (unsigned long long)rl.rlim_cur,
					       raise_limits[i].ulimit);
			return ud_fail(err, UD_EX_OSERR,
				       "resource limit too low: %s is %llu, userdocker needs at least %llu (%s)",
				       raise_limits[i].name, (unsigned long long)rl.rlim_cur,
				       (unsigned long long)raise_limits[i].need, raise_limits[i].ulimit);
		}
	}
	return 0;
}

static int term_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 64)
		return 0;
	return strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_") == n;
}

static int capture_env(struct ud_env *env, struct ud_err *err)
{
	static char *fixed[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	size_t n = 0, i;

	while (environ && environ[n])
		n++;
	if (n > 100000)
		return ud_fail(err, UD_EX_USAGE, "too many environment variables (%zu)", n);
	env->vars = calloc(n + 1, sizeof *env->vars);
	if (!env->vars)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	for (i = 0; i < n; i++) {
		env->vars[i] = strdup(environ[i]);
		if (!env->vars[i])
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	}
	env->nvars = n;
	environ = fixed;
	if (env_lookup(env, "DOCKER_HOST"))
		return ud_fail(err, UD_EX_USAGE,
			       "DOCKER_HOST is set in your environment; userdocker only talks to the daemon the admin configured (unset DOCKER_HOST)");
	if (env_lookup(env, "TERM") && term_ok(env_lookup(env, "TERM")))
		env->term = strdup(env_lookup(env, "TERM"));
	if (env_lookup(env, "NV_GPU")) {
		env->nv_gpu = strdup(env_lookup(env, "NV_GPU"));
		if (!env->nv_gpu)
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	}
	return 0;
}

const char *env_lookup(const struct ud_env *env, const char *name)
{
	size_t len = strlen(name), i;
	const char *found = NULL;

	/* Last one wins, as getenv(3) callers would not expect duplicates. */
	for (i = 0; i < env->nvars; i++)
		if (strncmp(env->vars[i], name, len) == 0 && env->vars[i][len] == '=')
			found = env->vars[i] + len + 1;
	return found;
}

int harden(int argc, char **argv, struct ud_env *env, struct ud_err *err)
{
	if (fix_std_fds()) {
		/* Nothing can be reported without fds 0-2: just stop. */
		_exit(UD_EX_OSERR);
	}
	if (argc < 1 || !argv || !argv[0])
		return ud_fail(err, UD_EX_USAGE, "called without argv[0]; refusing");
	close_other_fds();
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	reset_signals();
	if (raise_own_limits(err))
		return -1;
	return capture_env(env, err);
}
