/*
 * execute.c - stage 9: run the executor as root with a fixed environment.
 *
 * MUST: the environment is built from nothing (docker-cli reads DOCKER_*,
 * HOME, PATH, proxies and more, see client-side-effects.md); HOME and
 * DOCKER_CONFIG name a root-owned directory; DOCKER_HOST is the admin's
 * socket; the working directory is /; the executor is a root-owned file
 * in root-owned directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "gpu.h"
#include "mounts.h"
#include "userdocker.h"

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/userdocker"
#endif
#define DOCKER_CONFIG_DIR PKGDATADIR "/docker-config"

/* Single-quote a word for a POSIX shell when it needs it. */
static size_t quote_word(const char *w, char *out)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_-./=:,@%+";
	size_t n = 0;
	const char *p;

	if (*w && strspn(w, safe) == strlen(w)) {
		if (out)
			memcpy(out, w, strlen(w));
		return strlen(w);
	}
	if (out)
		out[n] = '\'';
	n++;
	for (p = w; *p; p++) {
		if (*p == '\'') {
			if (out)
				memcpy(out + n, "'\\''", 4);
			n += 4;
		} else {
			if (out)
				out[n] = *p;
			n++;
		}
	}
	if (out)
		out[n] = '\'';
	return n + 1;
}

char *shell_quote_argv(char *const *argv)
{
	size_t len = 1, i, pos = 0;
	char *s;

	for (i = 0; argv[i]; i++)
		len += quote_word(argv[i], NULL) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	for (i = 0; argv[i]; i++) {
		if (i)
			s[pos++] = ' ';
		pos += quote_word(argv[i], s + pos);
	}
	s[pos] = '\0';
	return s;
}

/* PAM_SESSION: the session open while docker runs; closed at the end. */
static void *pam_session;

void execute_exit(int status)
{
	pam_session_close(pam_session);
	pam_session = NULL;
	exit(status);
}

/* EXEC_AS, resolved by root from the passwd database: 0 for root. */
static int exec_account(struct ud_verdict *v, struct ud_err *err)
{
	struct passwd *pw;

	v->exec_uid = 0;
	v->exec_gid = 0;
	if (!v->exec_as || !*v->exec_as || !strcmp(v->exec_as, "root"))
		return 0;
	pw = getpwnam(v->exec_as);
	if (!pw)
		return ud_fail(err, UD_EX_CONFIG, "EXEC_AS: no such account: %s", v->exec_as);
	v->exec_uid = pw->pw_uid;
	v->exec_gid = pw->pw_gid;
	return 0;
}

int exec_account_enter(const struct ud_verdict *v)
{
	uid_t r, e, s;

	if (v->exec_uid == 0)
		return 0;
	if (initgroups(v->exec_as, v->exec_gid) || setresgid(v->exec_gid, v->exec_gid, v->exec_gid) ||
	    setresuid(v->exec_uid, v->exec_uid, v->exec_uid))
		return -1;
	if (getresuid(&r, &e, &s) || r != v->exec_uid || e != v->exec_uid || s != v->exec_uid ||
	    setuid(0) == 0)
		return -1;
	return 0;
}

/* Signals that would end root between staging mounts and taking them
 * down: from the terminal (^C, hangup) or a closed stderr pipe. */
static const int held_signals[] = { SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGTERM };

void signals_hold(void)
{
	size_t i;

	for (i = 0; i < sizeof held_signals / sizeof held_signals[0]; i++)
		signal(held_signals[i], SIG_IGN);
}

/* docker gets them back: it forwards them to the container. */
void signals_release(void)
{
	size_t i;

	for (i = 0; i < sizeof held_signals / sizeof held_signals[0]; i++)
		signal(held_signals[i], SIG_DFL);
}

/*
 * With staged mounts, root stays behind to take them down when docker
 * exits (the container keeps its own copy of each mount).  Terminal
 * signals are meant for docker, which forwards them to the container.
 */
static int run_and_unstage(struct ud_verdict *v, char **argv, char **envp, struct ud_stage *st,
			   struct ud_err *err)
{
	const char *path = v->executor_path;
	int status;
	pid_t pid, r;

	/* (terminal signals and SIGPIPE are held since main: signals_hold) */
	pid = fork();
	if (pid < 0) {
		mounts_unstage(st);
		return ud_fail_errno(err, UD_EX_OSERR, "cannot fork");
	}
	if (pid == 0) {
		signals_release();
		if (exec_account_enter(v)) {
			fprintf(stderr, "userdocker: cannot become %s (EXEC_AS)\n", v->exec_as);
			_exit(UD_EX_OSERR);
		}
		execve(path, argv, envp);
		fprintf(stderr, "userdocker: cannot execute %s: %s\n", path, strerror(errno));
		_exit(UD_EX_OSERR);
	}
	if (v->gpu_lock_fd >= 0) {
		struct dapi api = { 0 };

		gpu_release_when_created(&api, v->docker_socket, v->token, pid, &v->gpu_lock_fd);
		dapi_close(&api);
	}
	while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	mounts_unstage(st);
	if (r < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "lost the docker process");
	if (WIFSIGNALED(status))
		execute_exit(128 + WTERMSIG(status));
	execute_exit(WEXITSTATUS(status));
}

int execute(const struct ud_env *env, const struct ud_caller *c, struct ud_verdict *v,
	    char **argv, struct ud_stage *st, struct ud_err *err)
{
	char host[160], term[80], nvgpu[96];
	char *envp[8];
	size_t n = 0;

	if (trusted_program(v->executor_path, "executor", err) || trusted_dir(DOCKER_CONFIG_DIR, err) ||
	    exec_account(v, err))
		return -1;
	snprintf(host, sizeof host, "DOCKER_HOST=unix://%s", v->docker_socket);
	envp[n++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[n++] = "HOME=" DOCKER_CONFIG_DIR;
	envp[n++] = "DOCKER_CONFIG=" DOCKER_CONFIG_DIR;
	envp[n++] = host;
	if (env->term) {
		snprintf(term, sizeof term, "TERM=%s", env->term);
		envp[n++] = term;
	}
	/* The legacy nvidia-docker wrapper takes the reservation from NV_GPU. */
	if (v->gpus && v->gpus[0] && !strcmp(v->gpu_mode, "legacy")) {
		snprintf(nvgpu, sizeof nvgpu, "NV_GPU=%s", v->gpus);
		envp[n++] = nvgpu;
	}
	envp[n] = NULL;
	if (chdir("/"))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot change directory to /");
	fflush(NULL);
	/* With a PAM session root stays to close it when docker exits. */
	if (v->pam_session && !(pam_session = pam_session_open(c, err)))
		return -1;
	if (!strcmp(v->req.subcmd, "load"))
		return load_run(c, v, argv, envp, err);
	if ((st && st->n) || v->gpu_lock_fd >= 0 || pam_session)
		return run_and_unstage(v, argv, envp, st, err);
	signals_release();
	if (exec_account_enter(v))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot become %s (EXEC_AS)", v->exec_as);
	execve(v->executor_path, argv, envp);
	return ud_fail_errno(err, UD_EX_OSERR, "cannot execute %s", v->executor_path);
}
