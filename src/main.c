/*
 * main.c - one request, start to finish, as a straight line of stages
 * (see ARCHITECTURE.md).  Stages return errors; this is the one place
 * that prints them, logs them and picks the exit status.  Nothing is
 * executed unless every stage succeeded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "dockerapi.h"
#include "mounts.h"
#include "userdocker.h"

static const char usage_text[] =
	"usage: userdocker [-h] [--version] [-q] [--debug] [-n] [--explain] [--executor NAME] SUBCOMMAND [ARGS...]\n";

/* A bare `-e KEY` means "KEY from my environment": resolve it from the
 * caller's environment (the docker CLI's own is fixed and not theirs). */
static int resolve_bare_env(struct ud_request *r, const struct ud_env *env, struct ud_err *err)
{
	size_t i;

	for (i = 0; i < r->nopts; i++) {
		const char *val, *key = r->opts[i].value;
		char *kv;

		if (strcmp(r->opts[i].flag->name, "--env") != 0 || strchr(key, '='))
			continue;
		val = env_lookup(env, key);
		if (!val)
			return ud_fail(err, UD_EX_USAGE,
				       "--env %s: %s is not set in your environment (use --env %s=VALUE)",
				       key, key, key);
		if (!utf8_valid(val, strlen(val)))
			return ud_fail(err, UD_EX_USAGE,
				       "--env %s: its value in your environment is not valid UTF-8 (docker would change its bytes)",
				       key);
		if (asprintf(&kv, "%s=%s", key, val) < 0)
			return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
		free(r->opts[i].value);
		r->opts[i].value = kv;
	}
	return 0;
}

/* docker sends arguments as JSON, where every byte that is not UTF-8
 * becomes U+FFFD: the container would not get what the policy approved. */
static int check_utf8(int argc, char **argv, struct ud_err *err)
{
	int i;

	for (i = 0; i < argc; i++)
		if (!utf8_valid(argv[i], strlen(argv[i]))) {
			char *shown = text_printable(argv[i]);

			ud_fail(err, UD_EX_USAGE,
				"argument not valid UTF-8: %.200s (docker would replace its bytes)",
				shown ? shown : "?");
			free(shown);
			return -1;
		}
	return 0;
}

int main(int argc, char **argv)
{
	struct ud_err err = { UD_EX_SOFTWARE, "internal error" };
	static struct ud_env env;
	static struct ud_cli cli;
	static struct ud_caller caller;
	static struct ud_files files;
	static struct ud_request req;
	static struct ud_verdict verdict;
	static struct ud_stage stage;
	static struct dapi api;
	struct ud_job job = { &cli, &caller, &files, &env, &req };
	char **cmd = NULL;
	char *line;
	struct ud_audit audit = { &caller, argv + 1, argc - 1, NULL, NULL, -1, NULL };

	if (harden(argc, argv, &env, &err) || cli_parse(argc, argv, &cli, &err))
		goto fail_early;
	if (cli.version) {
		printf("userdocker %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (caller_identify(&caller, &err) || caller_become_root(&err) ||
	    pam_account(&caller, &err) || config_load(&caller, &files, &err))
		goto fail;
	if (cli.docker_argc > 0 && cli.help) {
		/* `userdocker -h run ...`: help on run, never a run. */
		char *words[4] = { cli.docker_argv[0], NULL, NULL, NULL };
		int n = 1;

		if ((!strcmp(words[0], "container") || !strcmp(words[0], "image")) && cli.docker_argc > 1)
			words[n++] = cli.docker_argv[1];
		words[n++] = "--help";
		if (check_utf8(n, words, &err) || argv_parse(n, words, &req, &err))
			goto fail;
	} else if (cli.docker_argc > 0) {
		if (check_utf8(cli.docker_argc, cli.docker_argv, &err) ||
		    argv_parse(cli.docker_argc, cli.docker_argv, &req, &err) ||
		    resolve_bare_env(&req, &env, &err))
			goto fail;
	} else if (cli.help) {
		req.help = 1;
	} else {
		fputs(usage_text, stderr);
		ud_fail(&err, UD_EX_USAGE, "no subcommand given (see userdocker --help)");
		goto fail;
	}
	if (sandbox_evaluate(&job, &verdict, &err))
		goto fail;
	if (verdict.action == ACT_PRINT) {
		audit.decision = "allowed";
		audit.reason = "information printed by userdocker";
		audit.status = 0;
		audit_log(&audit);
		fputs(verdict.message, stdout);
		if (verdict.message[0] && verdict.message[strlen(verdict.message) - 1] != '\n')
			putchar('\n');
		return 0;
	}
	if (verdict.action == ACT_DENY) {
		if (cli.explain)
			fprintf(stderr, "userdocker: explain: decision: refused\n");
		ud_fail(&err, UD_EX_DENIED, "%s", verdict.message);
		goto fail;
	}
	if (verdict_check(&job, &verdict, &err))
		goto fail;
	if (ownership_resolve(&api, verdict.docker_socket, &caller, &verdict.req, &err) ||
	    image_check(&api, verdict.docker_socket, &verdict.req, &err))
		goto fail;
	dapi_close(&api);
	if (!strcmp(verdict.req.subcmd, "dockviz")) {
		/* Answered by root from the Engine API; nothing is executed. */
		audit.decision = cli.dry_run ? "dry-run" : "allowed";
		audit.reason = "image tree printed by userdocker";
		audit.status = 0;
		audit_log(&audit);
		if (cli.dry_run) {
			printf("(dockviz: the image tree from the Engine API on %s; no command)\n",
			       verdict.docker_socket);
			return 0;
		}
		if (dockviz(verdict.docker_socket, &err))
			goto fail;
		return 0;
	}
	if (verdict_argv(&verdict, &cmd, &err))
		goto fail;
	line = shell_quote_argv(cmd);
	if (!line) {
		ud_fail(&err, UD_EX_OSERR, "out of memory");
		goto fail;
	}
	audit.command = cmd;
	if (cli.dry_run) {
		if (!strcmp(verdict.req.subcmd, "load"))
			fprintf(stderr, "userdocker: %s: load: the archive's image names are checked as it is loaded, not in a dry run (only names under %s/)\n",
				cli.explain ? "explain" : "note", caller.user_name);
		if (cli.explain)
			fprintf(stderr, "userdocker: explain: decision: allowed; the command (on stdout) is not run\n");
		audit.decision = "dry-run";
		audit.status = 0;
		audit_log(&audit);
		printf("%s\n", line);
		return 0;
	}
	if (cli.debug)
		fprintf(stderr, "userdocker: debug: executing: %s\n", line);
	audit.decision = "allowed";
	audit_log(&audit);
	if (strcmp(verdict.req.subcmd, "load") == 0) {
		/* load --input FILE (opened by the caller) or stdin: streamed
		 * to docker through the archive checker (load.c). */
		verdict.load_fd = verdict.nfds == 1 ? verdict.fds[0] : 0;
		verdict.nfds = 0;
	}
	/* From here until docker runs (or the mounts are down again) no
	 * terminal signal or closed pipe may end us half-way. */
	signals_hold();
	if (mounts_stage(&verdict.req, verdict.fds, verdict.nfds, &stage, &err)) {
		mounts_unstage(&stage);
		goto fail;
	}
	/* The staged paths replace the approved ones in the final argv; the
	 * audit record keeps pointing at a live one. */
	audit.command = NULL;
	strv_free(cmd);
	if (verdict_argv(&verdict, &cmd, &err)) {
		mounts_unstage(&stage);
		goto fail;
	}
	audit.command = cmd;
	if (cli.debug)
		fprintf(stderr, "userdocker: debug: mount sources staged under %s\n", UD_STAGING_DIR);
	if (strcmp(verdict.req.subcmd, "version") == 0 && !cli.quiet)
		printf("userdocker version %s\n", PACKAGE_VERSION);
	execute(&env, &caller, &verdict, cmd, &stage, &err);
	mounts_unstage(&stage);
fail:
	audit.decision = err.code == UD_EX_DENIED ? "denied" : "error";
	audit.reason = err.msg;
	audit.status = err.code;
	audit_log(&audit);
fail_early:
	fprintf(stderr, "userdocker: %s\n", err.msg);
	return err.code;
}
