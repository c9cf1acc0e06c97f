/*
 * request.h - the docker argv model.
 *
 * A request is what one docker command line means: the canonical
 * subcommand, the options in argv order under their canonical long names,
 * and the positionals.  It is built by argv_parse() from what the user
 * typed, edited by the policy, and turned back into a canonical argv by
 * argv_serialize().  Parsing that canonical argv again gives the same
 * request (the round-trip property the fuzzer checks).
 */
#ifndef UD_REQUEST_H
#define UD_REQUEST_H

#include <stddef.h>

#include "error.h"

/* Kinds of values, from the pflag Value.Type() column of the flag table. */
enum ud_vtype {
	VT_BOOL,     /* bool: "true" | "false" in the request */
	VT_STRING,   /* string, and every docker type without a number grammar */
	VT_INT,      /* int, int64: base-0 parse, canonical decimal */
	VT_UINT,     /* uint16, uint64: base-0 parse, canonical decimal */
	VT_LIST,     /* repeatable: list, map, filter, mount, network, ... */
};

/* One row of the generated flag table (src/flags.c from data/). */
struct ud_flag {
	const char *cmd;       /* "run", "ps", ... or "(global)" */
	const char *name;      /* long name with dashes: "--volume" */
	char shorthand;        /* 'v', or 0 */
	enum ud_vtype vtype;
	const char *type;      /* the raw pflag type string */
	int repeatable;        /* 1 when a repeat appends/merges */
	const char *canonical; /* the long name an alias feeds ("--net" ->
	                        * "--network"); equals name otherwise */
	int userdocker;        /* 1 for userdocker's own subcommand options
	                        * (run --no-default-mounts): never serialized
	                        * to docker */
};

extern const struct ud_flag ud_flags[];
extern const size_t ud_nflags;

struct ud_opt {
	const struct ud_flag *flag; /* canonical flag (aliases resolved) */
	char *value;                /* owned; "true"/"false" for bools */
};

/* opts and args grow only through request_add_opt()/request_add_arg()
 * (their capacity is implied by the length); other code may edit elements
 * in place, or shrink the counts, freeing what it drops. */
struct ud_request {
	const char *subcmd;   /* canonical subcommand: "run", "ps", ... */
	struct ud_opt *opts;  /* argv order */
	size_t nopts;
	char **args;          /* positionals: run = IMAGE [CMD...] */
	size_t nargs;
	int help;             /* --help (or run -h alone) was asked for */
};

/* Subcommands this build understands (the docker ones we wrap). */
int argv_known_subcommand(const char *canonical);

/*
 * Parse docker's argv from the subcommand word on (argv[0] is the
 * subcommand or management word, e.g. "run" or "container").  Follows
 * ../data/docker-argv-grammar rules exactly; anything docker would read
 * differently from us, or that lies in a grey zone, is an error.
 * Returns 0, or -1 with err set (err->code = UD_EX_USAGE).
 */
int argv_parse(int argc, char *const argv[], struct ud_request *req,
	       struct ud_err *err);

/*
 * The canonical docker argv for req: subcommand, then every option as one
 * "--long=value" element (userdocker-only options dropped), then for
 * run/create/exec "--" and the positionals.  *out is a NULL-terminated
 * malloc'd vector of malloc'd strings; *n its length.
 */
int argv_serialize(const struct ud_request *req, char ***out, size_t *n,
		   struct ud_err *err);

/* Flag lookup by subcommand and long name (alias rows included). */
const struct ud_flag *flag_lookup(const char *cmd, const char *longname);
const struct ud_flag *flag_lookup_short(const char *cmd, char shorthand);

/* Append an option (value copied; the flag's canonical row is used). */
int request_add_opt(struct ud_request *req, const struct ud_flag *flag,
		    const char *value, struct ud_err *err);
int request_add_arg(struct ud_request *req, const char *arg,
		    struct ud_err *err);
void request_free(struct ud_request *req);
void strv_free(char **v);

#endif
