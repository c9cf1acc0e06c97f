/*
 * argv_canon.c - print userdocker's canonical docker argv for an argv.
 *
 *   argv_canon SUBCOMMAND [ARG...]
 *
 * The arguments are docker's argv from the subcommand word on (what
 * follows "docker").  On success the canonical argv (subcommand first) is
 * written to stdout as NUL-terminated elements and the exit status is 0.
 * When userdocker's parser refuses the argv, "error: <message>" goes to
 * stderr and the exit status is 2.  Any other failure (out of memory,
 * write error, serializer refusing a parsed request) exits 3.
 *
 * Used by the differential test (tests/diff/run.sh), which compares what
 * docker makes of the original argv with what it makes of this one.
 * Sources: this file, src/argv.c, src/error.c and the generated flags.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int main(int argc, char *argv[])
{
	struct ud_request req;
	struct ud_err err = { 0 };
	char **out = NULL;
	size_t n = 0, i;

	if (argv_parse(argc - 1, argv + 1, &req, &err) < 0) {
		fprintf(stderr, "error: %s\n", err.msg);
		return err.code == UD_EX_USAGE ? 2 : 3;
	}
	if (argv_serialize(&req, &out, &n, &err) < 0) {
		fprintf(stderr, "argv_canon: serialize failed: %s\n", err.msg);
		request_free(&req);
		return 3;
	}
	for (i = 0; i < n; i++) {
		size_t len = strlen(out[i]) + 1; /* with its NUL */

		if (fwrite(out[i], 1, len, stdout) != len)
			break;
	}
	strv_free(out);
	request_free(&req);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("argv_canon: stdout");
		return 3;
	}
	return 0;
}
