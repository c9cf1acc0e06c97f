/*
 * exec_argc0.c - exec a program the way a hostile caller would, for the
 * hardening tests (tests/integration/t-20-hardening.sh).
 *
 *   exec_argc0 PATH
 *       exec PATH with argc == 0 (argv = { NULL }) and our environment.
 *
 *   exec_argc0 [-c FD]... [-r FD=FILE]... [-w FD=FILE]...
 *              [-l RESOURCE=VALUE]... -- PATH [ARG...]
 *       prepare the descriptors and limits, then exec PATH with argv
 *       { PATH, ARG... }.  In order of the options:
 *         -c FD           close FD (e.g. 0, 1 and 2);
 *         -r FD=FILE      open FILE read-only on FD, not close-on-exec;
 *         -w FD=FILE      open (create, truncate) FILE for writing on FD;
 *         -l RES=VALUE    setrlimit RES (nofile, as, cpu, fsize, nproc,
 *                         stack, data) to VALUE, soft and hard.
 *
 * Errors go to stderr while it is open and always give exit status 127,
 * so a test can tell "the helper failed" from what PATH did.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

extern char **environ;

static int die(const char *what, const char *arg)
{
	/* fd 2 may be closed by now: then there is no one to tell. */
	dprintf(2, "exec_argc0: %s: %s: %s\n", what, arg, strerror(errno));
	return 127;
}

static int parse_fd(const char *s, char **rest)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (end == s || v < 0 || v > 65535 || (rest ? *end != '=' : *end != '\0'))
		return -1;
	if (rest)
		*rest = end + 1;
	return (int)v;
}

/* Open FILE on exactly FD. */
static int open_on(int fd, const char *file, int flags)
{
	int got = open(file, flags, 0600);

	if (got < 0)
		return -1;
	if (got != fd) {
		if (dup2(got, fd) < 0) {
			close(got);
			return -1;
		}
		close(got);
	}
	return 0;
}

static const struct {
	const char *name;
	int resource;
} limits[] = {
	{ "nofile", RLIMIT_NOFILE }, { "as", RLIMIT_AS },       { "cpu", RLIMIT_CPU },
	{ "fsize", RLIMIT_FSIZE },   { "nproc", RLIMIT_NPROC }, { "stack", RLIMIT_STACK },
	{ "data", RLIMIT_DATA },
};

static int set_limit(const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct rlimit rl;
	unsigned long long v;
	char *end;
	size_t i;

	if (!eq)
		return -1;
	errno = 0;
	v = strtoull(eq + 1, &end, 10);
	if (errno || end == eq + 1 || *end)
		return -1;
	for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		if (strlen(limits[i].name) != (size_t)(eq - spec) ||
		    strncmp(spec, limits[i].name, (size_t)(eq - spec)) != 0)
			continue;
		rl.rlim_cur = rl.rlim_max = (rlim_t)v;
		return setrlimit(limits[i].resource, &rl);
	}
	errno = EINVAL;
	return -1;
}

int main(int argc, char **argv)
{
	int i;

	if (argc == 2 && argv[1][0] != '-') {
		char *none[] = { NULL };

		execve(argv[1], none, environ);
		return die("exec", argv[1]);
	}
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i];
		char *file;
		int fd;

		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			break;
		if (strcmp(opt, "-c") == 0) {
			fd = parse_fd(argv[++i], NULL);
			if (fd < 0)
				return die("bad fd", argv[i]);
			close(fd);
		} else if (strcmp(opt, "-r") == 0 || strcmp(opt, "-w") == 0) {
			int flags = opt[1] == 'r' ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC;

			fd = parse_fd(argv[++i], &file);
			if (fd < 0)
				return die("bad FD=FILE", argv[i]);
			if (open_on(fd, file, flags))
				return die("open", file);
		} else if (strcmp(opt, "-l") == 0) {
			if (set_limit(argv[++i]))
				return die("setrlimit", argv[i]);
		} else {
			errno = EINVAL;
			return die("unknown option", opt);
		}
	}
	if (i >= argc) {
		errno = EINVAL;
		return die("usage", "exec_argc0 PATH | exec_argc0 [OPTIONS] -- PATH [ARG...]");
	}
	execve(argv[i], argv + i, environ);
	return die("exec", argv[i]);
}
