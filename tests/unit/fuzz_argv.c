/*
 * fuzz_argv.c - libFuzzer target for the argv round trip.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Isrc src/argv.c \
 *         src/error.c flags.c tests/unit/fuzz_argv.c -o fuzz_argv
 *
 * The input is split on NUL bytes into an argv.  Whatever argv_parse()
 * accepts must serialize, parse back to the same request (userdocker's own
 * options aside: they are never serialized) and serialize to the same argv
 * again.  Anything else is a disagreement between what the policy judges
 * and what docker would run, so abort().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static int same_request(const struct ud_request *a,
			const struct ud_request *b)
{
	size_t i, j = 0;

	if (a->subcmd != b->subcmd || a->help != b->help ||
	    a->nargs != b->nargs)
		return 0;
	for (i = 0; i < a->nopts; i++) {
		if (a->opts[i].flag->userdocker)
			continue;
		if (j >= b->nopts || a->opts[i].flag != b->opts[j].flag ||
		    strcmp(a->opts[i].value, b->opts[j].value) != 0)
			return 0;
		j++;
	}
	if (j != b->nopts)
		return 0;
	for (i = 0; i < a->nargs; i++)
		if (strcmp(a->args[i], b->args[i]) != 0)
			return 0;
	return 1;
}

/* Properties of the canonical form itself, independent of the parser. */
static void check_canonical(const struct ud_request *r, char **v, size_t n)
{
	size_t i = 1;

	if (n < 1 || v[n] != NULL || strcmp(v[0], r->subcmd) != 0)
		abort();
	/* options are all "--name=value" (or stop/restart "-t=N") and come
	 * before any positional */
	for (; i < n && strcmp(v[i], "--") != 0 && v[i][0] == '-'; i++)
		if (v[i][1] == '-' ? !strchr(v[i], '=') :
				     strncmp(v[i], "-t=", 3) != 0)
			abort();
	/* run/create/exec always fence their positionals */
	if ((!strcmp(r->subcmd, "run") || !strcmp(r->subcmd, "create") ||
	     !strcmp(r->subcmd, "exec")) &&
	    (i >= n || strcmp(v[i], "--") != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ud_request r1, r2;
	struct ud_err e;
	char *buf, **argv, **o1 = NULL, **o2 = NULL;
	size_t i, argc = 1, n1, n2;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (i = 0; i < size; i++)
		if (buf[i] == '\0')
			argc++;
	argv = calloc(argc + 1, sizeof *argv);
	if (!argv) {
		free(buf);
		return 0;
	}
	argv[0] = buf;
	for (i = 0, argc = 1; i < size; i++)
		if (buf[i] == '\0')
			argv[argc++] = buf + i + 1;

	if (argv_parse((int)argc, argv, &r1, &e) == 0) {
		if (argv_serialize(&r1, &o1, &n1, &e) < 0)
			abort();
		check_canonical(&r1, o1, n1);
		if (argv_parse((int)n1, o1, &r2, &e) < 0)
			abort();
		if (!same_request(&r1, &r2))
			abort();
		if (argv_serialize(&r2, &o2, &n2, &e) < 0 || n1 != n2)
			abort();
		for (i = 0; i < n1; i++)
			if (strcmp(o1[i], o2[i]) != 0)
				abort();
		strv_free(o1);
		strv_free(o2);
		request_free(&r1);
		request_free(&r2);
	} else if (r1.opts || r1.args || r1.nopts || r1.nargs) {
		abort(); /* a failed parse must leave nothing behind */
	} else if (!memchr(e.msg, '\0', sizeof e.msg) ||
		   strchr(e.msg, '\n') || e.code != UD_EX_USAGE) {
		abort();
	}
	free(argv);
	free(buf);
	return 0;
}
