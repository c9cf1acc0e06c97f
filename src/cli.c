/*
 * cli.c - userdocker's own options, which come before the docker
 * subcommand: userdocker [-h] [--version] [-q] [--debug] [-n] [--explain]
 * [--executor NAME] SUBCOMMAND [docker arguments].
 *
 * docker's global options (-H, --config, --context, --tls*, -D, -l, -v)
 * are never passed on: they would choose the daemon, the config dir or
 * files the root CLI reads.
 */
#include <string.h>

#include "userdocker.h"

static const char *const docker_globals[] = {
	"--config", "--context", "--host", "--log-level", "--tls", "--tlscacert",
	"--tlscert", "--tlskey", "--tlsverify", NULL,
};

static int is_docker_global(const char *arg)
{
	size_t i;

	for (i = 0; docker_globals[i]; i++) {
		size_t len = strlen(docker_globals[i]);

		if (strncmp(arg, docker_globals[i], len) == 0 &&
		    (arg[len] == '\0' || arg[len] == '='))
			return 1;
	}
	return 0;
}

static int short_cluster(const char *arg, struct ud_cli *cli, struct ud_err *err)
{
	const char *p;

	for (p = arg + 1; *p; p++) {
		switch (*p) {
		case 'h': cli->help = 1; break;
		case 'q': cli->quiet = 1; break;
		case 'n': cli->dry_run = 1; break;
		case 'H': case 'c': case 'D': case 'l': case 'v':
			return ud_fail(err, UD_EX_USAGE,
				       "docker global option not allowed: -%c (userdocker always uses the admin's daemon and settings)",
				       *p);
		default:
			return ud_fail(err, UD_EX_USAGE, "unknown option: -%c in %s (see userdocker --help)",
				       *p, arg);
		}
	}
	return 0;
}

int cli_parse(int argc, char **argv, struct ud_cli *cli, struct ud_err *err)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--help") == 0) {
			cli->help = 1;
		} else if (strcmp(a, "--version") == 0) {
			cli->version = 1;
		} else if (strcmp(a, "--quiet") == 0) {
			cli->quiet = 1;
		} else if (strcmp(a, "--debug") == 0) {
			cli->debug = 1;
		} else if (strcmp(a, "--dry-run") == 0) {
			cli->dry_run = 1;
		} else if (strcmp(a, "--explain") == 0) {
			/* How the request is decided, rule by rule; runs nothing. */
			cli->explain = 1;
			cli->dry_run = 1;
		} else if (strcmp(a, "--executor") == 0) {
			if (i + 1 >= argc)
				return ud_fail(err, UD_EX_USAGE, "--executor needs a name");
			cli->executor = argv[++i];
		} else if (strncmp(a, "--executor=", 11) == 0) {
			cli->executor = a + 11;
		} else if (is_docker_global(a)) {
			return ud_fail(err, UD_EX_USAGE,
				       "docker global option not allowed: %s (userdocker always uses the admin's daemon and settings)",
				       a);
		} else if (a[1] != '-') {
			if (short_cluster(a, cli, err))
				return -1;
		} else {
			return ud_fail(err, UD_EX_USAGE, "unknown option: %s (see userdocker --help)", a);
		}
	}
	if (cli->executor && cli->executor[0] == '\0')
		return ud_fail(err, UD_EX_USAGE, "--executor needs a name");
	cli->docker_argc = argc - i;
	cli->docker_argv = argv + i;
	return 0;
}
