/*
 * pam_session_driver.c - open and close one PAM session with one handle,
 * running a command in between, for the PAM session module's tests
 * (tests/integration/t-70-pam-session.sh).  pamtester can open and close,
 * but runs nothing in between and shows no PAM environment.
 *
 *   pam_session_driver [-b] SERVICE USER [CMD [ARG...]]
 *
 * pam_open_session, then prints "open: <result>" and the session's
 * "USERDOCKER_SESSION=<value>" (empty when unset).  CMD runs with the PAM
 * environment added to ours, and the session is closed when it has exited;
 * with -b, CMD runs in the background instead: once it runs as USER the
 * session is closed while it still runs, then CMD gets SIGTERM and is
 * waited for.  Prints "close: <result>" after pam_close_session.
 *
 * Exit status: 0 when open and close succeeded, 1 when either failed,
 * 2 for a usage or system error.  No prompt is answered.
 */
#include <errno.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int no_prompts(int n, const struct pam_message **msg, struct pam_response **resp,
		      void *data)
{
	(void)n;
	(void)msg;
	(void)data;
	*resp = NULL;
	return PAM_CONV_ERR;
}

static pid_t start(char **cmd, char **pamenv)
{
	pid_t pid;
	size_t i;

	fflush(stdout);
	pid = fork();
	if (pid != 0)
		return pid;
	for (i = 0; pamenv && pamenv[i]; i++)
		putenv(pamenv[i]);
	execvp(cmd[0], cmd);
	fprintf(stderr, "pam_session_driver: %s: %s\n", cmd[0], strerror(errno));
	_exit(127);
}

static int wait_for(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* Up to 10 s for the background command to run as uid. */
static int wait_uid(pid_t pid, uid_t uid)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char path[64];
	struct stat st;
	int i;

	snprintf(path, sizeof path, "/proc/%d", (int)pid);
	for (i = 0; i < 1000; i++) {
		if (stat(path, &st) == 0 && st.st_uid == uid)
			return 0;
		nanosleep(&tick, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct pam_conv conv = { no_prompts, NULL };
	pam_handle_t *ph = NULL;
	struct passwd *pw;
	const char *sid;
	char **pamenv = NULL;
	int background = 0, rc, crc, status = 0;
	pid_t pid = -1;

	if (argc > 1 && strcmp(argv[1], "-b") == 0) {
		background = 1;
		argv++;
		argc--;
	}
	if (argc < 3 || (background && argc < 4)) {
		fprintf(stderr, "usage: pam_session_driver [-b] SERVICE USER [CMD [ARG...]]\n");
		return 2;
	}
	pw = getpwnam(argv[2]);
	if (!pw) {
		fprintf(stderr, "pam_session_driver: no such user: %s\n", argv[2]);
		return 2;
	}
	rc = pam_start(argv[1], argv[2], &conv, &ph);
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_session_driver: pam_start: %s\n", pam_strerror(ph, rc));
		return 2;
	}
	rc = pam_open_session(ph, 0);
	printf("open: %s\n", pam_strerror(ph, rc));
	sid = pam_getenv(ph, "USERDOCKER_SESSION");
	printf("USERDOCKER_SESSION=%s\n", sid ? sid : "");
	if (rc != PAM_SUCCESS) {
		pam_end(ph, rc);
		return 1;
	}

	if (argc > 3) {
		pamenv = pam_getenvlist(ph);
		pid = start(argv + 3, pamenv);
		if (pid < 0) {
			perror("pam_session_driver: fork");
			status = 2;
		} else if (!background) {
			wait_for(pid);
			pid = -1;
		} else if (wait_uid(pid, pw->pw_uid)) {
			fprintf(stderr, "pam_session_driver: %s did not run as %s within 10 s\n", argv[3],
				argv[2]);
			status = 2;
		}
	}

	crc = pam_close_session(ph, 0);
	printf("close: %s\n", pam_strerror(ph, crc));
	fflush(stdout);
	if (pid > 0) {
		kill(pid, SIGTERM);
		wait_for(pid);
	}
	pam_end(ph, crc);
	if (pamenv) {
		size_t i;

		for (i = 0; pamenv[i]; i++)
			free(pamenv[i]);
		free(pamenv);
	}
	if (status)
		return status;
	return crc == PAM_SUCCESS ? 0 : 1;
}
