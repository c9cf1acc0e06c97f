/*
 * gpu.c - see gpu.h.
 *
 * MUST: nvidia-smi is run only if it is a root-owned executable in
 * root-owned directories, with a fixed environment, no stdin, a time
 * limit and a bounded output; its output is parsed strictly and anything
 * unexpected is an error naming what was wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gpu.h"
#include "mounts.h"
#include "userdocker.h"

#define SMI_MAX_OUT 65536
#define SMI_TIMEOUT_MS 10000
#define MAX_GPUS 64

struct gpu {
	int present;
	long mem;
	char users[2048];
};

/* Run nvidia-smi; its stdout (NUL-terminated) in buf. */
static int run_smi(const char *path, char *buf, size_t size, struct ud_err *err)
{
	static char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	char *argv[] = { (char *)path, "--query-gpu=index,memory.used",
			 "--format=csv,noheader,nounits", NULL };
	struct timespec t0, now;
	size_t got = 0;
	int pfd[2], status;
	pid_t pid;

	if (trusted_program(path, "NVIDIA_SMI", err))
		return -1;
	if (pipe2(pfd, O_CLOEXEC))
		return ud_fail_errno(err, UD_EX_OSERR, "cannot run %s", path);
	pid = fork();
	if (pid < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot run %s", path);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(pfd[1], 1);
		dup2(devnull, 2);
		execve(path, argv, envp);
		_exit(127);
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		long left;
		ssize_t r;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = SMI_TIMEOUT_MS - ((now.tv_sec - t0.tv_sec) * 1000 +
					 (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || poll(&p, 1, (int)left) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pfd[0]);
			return ud_fail(err, UD_EX_SOFTWARE, "%s did not answer within %d s", path,
				       SMI_TIMEOUT_MS / 1000);
		}
		r = read(pfd[0], buf + got, size - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		if (got >= size - 1) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(pfd[0]);
			return ud_fail(err, UD_EX_SOFTWARE, "%s: output too large", path);
		}
	}
	close(pfd[0]);
	buf[got] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return ud_fail(err, UD_EX_SOFTWARE, "%s failed (status %d)", path,
			       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}

static int parse_num(const char *s, const char *end, long max, long *out)
{
	long v = 0;

	if (s == end)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* Lines "INDEX, MEMORY" (nounits); blank lines are ignored. */
static int parse_smi(const char *path, const char *out, struct gpu *g, struct ud_err *err)
{
	const char *line = out;
	int lineno = 0, any = 0;

	while (*line) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *comma = memchr(line, ',', (size_t)(end - line)), *m;
		const char *stop = end;
		long idx, mem;

		lineno++;
		if (stop > line && stop[-1] == '\r')
			stop--;
		if (stop == line)
			goto next;
		if (!comma)
			goto bad;
		m = comma + 1;
		while (m < stop && *m == ' ')
			m++;
		if (parse_num(line, comma, MAX_GPUS - 1, &idx) || parse_num(m, stop, 100000000L, &mem))
			goto bad;
		if (g[idx].present)
			return ud_fail(err, UD_EX_SOFTWARE, "%s: GPU %ld listed twice", path, idx);
		g[idx].present = 1;
		g[idx].mem = mem;
		any = 1;
next:
		line = nl ? nl + 1 : end;
	}
	if (!any)
		return ud_fail(err, UD_EX_SOFTWARE, "%s reported no GPUs", path);
	return 0;
bad:
	return ud_fail(err, UD_EX_SOFTWARE, "%s: unexpected output on line %d (want \"INDEX, MEMORY.USED\")",
		       path, lineno);
}

static int lock_gpus(int *lock_fd, struct ud_err *err)
{
	int fd;

	if (*lock_fd >= 0)
		return 0;
	if (mkdir(UD_STAGING_DIR, 0700) && errno != EEXIST)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot create %s", UD_STAGING_DIR);
	if (trusted_dir(UD_STAGING_DIR, err))
		return -1;
	fd = open(UD_GPU_LOCK, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ud_fail_errno(err, UD_EX_OSERR, "cannot open %s", UD_GPU_LOCK);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			close(fd);
			return ud_fail_errno(err, UD_EX_OSERR, "cannot lock %s", UD_GPU_LOCK);
		}
	}
	*lock_fd = fd;
	return 0;
}

void gpu_unlock(int *lock_fd)
{
	if (*lock_fd >= 0)
		close(*lock_fd);
	*lock_fd = -1;
}

/* Who reserved what: one API call listing the labelled containers that
 * hold GPUs.  "created" counts: `docker run` creates, then starts, and the
 * lock is released once the container exists, so a run that is between
 * the two must already block its GPUs for the next one. */
static int add_users(struct dapi *d, struct gpu *g, struct ud_err *err)
{
	json_t *list = NULL, *c;
	long status = 0;
	size_t i;

	if (dapi_get(d, "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22userdocker.gpus%22%5D%2C"
		     "%22status%22%3A%5B%22created%22%2C%22running%22%2C%22restarting%22%2C%22paused%22%5D%7D",
		     &status, &list, err))
		return -1;
	if (status != 200 || !json_is_array(list)) {
		json_decref(list);
		return ud_fail(err, UD_EX_SOFTWARE, "unexpected answer from the docker daemon listing containers (HTTP %ld)",
			       status);
	}
	json_array_foreach(list, i, c) {
		json_t *labels = json_object_get(c, "Labels");
		const char *gpus = json_string_value(json_object_get(labels, "userdocker.gpus"));
		const char *uid = json_string_value(json_object_get(labels, "userdocker.owner.uid"));
		const char *id = json_string_value(json_object_get(c, "Id"));
		const char *p;

		if (!gpus || !uid || !id || strlen(id) != 64 || strspn(uid, "0123456789") != strlen(uid))
			continue;
		for (p = gpus; *p;) {
			char *end;
			long idx = strtol(p, &end, 10);
			size_t len;

			if (end == p || idx < 0 || idx >= MAX_GPUS)
				break;
			len = strlen(g[idx].users);
			snprintf(g[idx].users + len, sizeof g[idx].users - len, "%s%s:%s",
				 len ? "," : "", uid, id);
			p = *end == ',' ? end + 1 : end;
			if (*end != ',' && *end)
				break;
		}
	}
	json_decref(list);
	return 0;
}

int gpu_facts(struct dapi *d, const char *sock, const char *nvidia_smi, int *lock_fd,
	      char ***out, size_t *n, struct ud_err *err)
{
	static struct gpu g[MAX_GPUS];
	char *buf;
	size_t i, k = 0;

	memset(g, 0, sizeof g);
	if (lock_gpus(lock_fd, err))
		return -1;
	buf = malloc(SMI_MAX_OUT);
	if (!buf)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	if (run_smi(nvidia_smi, buf, SMI_MAX_OUT, err) || parse_smi(nvidia_smi, buf, g, err)) {
		free(buf);
		return -1;
	}
	free(buf);
	if (dapi_open(d, sock, err) || add_users(d, g, err))
		return -1;
	*out = calloc(MAX_GPUS + 2, sizeof **out);
	if (!*out)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	(*out)[k++] = strdup("gpus");
	for (i = 0; i < MAX_GPUS; i++) {
		if (!g[i].present)
			continue;
		if (asprintf(&(*out)[k++], "%zu %ld %s", i, g[i].mem,
			     g[i].users[0] ? g[i].users : "-") < 0)
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	}
	*n = k;
	return 0;
}

void gpu_release_when_created(struct dapi *d, const char *sock, const char *token, int pid,
			      int *lock_fd)
{
	struct ud_err err;
	char path[256];
	int i;

	if (*lock_fd < 0)
		return;
	snprintf(path, sizeof path,
		 "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22userdocker.token%%3D%s%%22%%5D%%7D",
		 token);
	/* At most ~60 s: docker creates a container in well under a second. */
	for (i = 0; i < 1200; i++) {
		json_t *list = NULL;
		long status = 0;
		int found;

		siginfo_t si = { 0 };

		/* WNOWAIT: the caller reaps docker, we only look. */
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid != 0)
			break;
		if (dapi_open(d, sock, &err) || dapi_get(d, path, &status, &list, &err))
			break;
		found = status == 200 && json_array_size(list) > 0;
		json_decref(list);
		if (found)
			break;
		usleep(50000);
	}
	gpu_unlock(lock_fd);
}
