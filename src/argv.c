/*
 * argv.c - parse docker's argv into a request and serialize it back.
 *
 * This is the security-critical half of userdocker: the policy judges the
 * request we build here, and docker executes the argv we emit.  If the two
 * ever disagree about what a command line means, the policy is bypassed.
 *
 * MUST properties:
 *  - argv_parse() reads argv exactly as docker 28 and 20.10 (cobra +
 *    pflag) do, per docker-argv-grammar.md (the shared reference); where
 *    docker's reading is surprising (grey zones: -test.*, a separate value
 *    that starts with '-', a bool followed by a bool word, flags or "--"
 *    after a management word), it refuses instead of reproducing it.
 *  - argv_serialize() emits only unambiguous forms: "--long=value" per
 *    option (stop/restart timeout: "-t=N", see emit_as), "--" before
 *    positionals that could be mistaken for options.
 *  - argv_parse(argv_serialize(r)) == r for every r argv_parse can build
 *    (userdocker-only options excepted: they are never serialized).
 *    argv_serialize() refuses requests it cannot represent that way.
 *  - Values in a request are canonical: bools "true"/"false", integers
 *    in decimal, aliases resolved to their canonical flag row.
 *  - Every input is bounded (UD_ARGV_MAX), every allocation checked, no
 *    recursion, no abort()/exit(); errors come back through ud_err.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

struct cmdinfo {
	const char *name;   /* canonical subcommand */
	int interspersed;   /* pflag SetInterspersed */
	size_t min, max;    /* positional arity (cobra Args) */
	int h_is_hostname;  /* run/create: -h is --hostname, not help */
};

#define ANY SIZE_MAX

static const struct cmdinfo cmds[] = {
	{ "run", 0, 1, ANY, 1 },
	{ "create", 0, 1, ANY, 1 },
	{ "exec", 0, 2, ANY, 0 },
	{ "top", 0, 1, ANY, 0 },
	{ "ps", 1, 0, 0, 0 },
	{ "images", 1, 0, 1, 0 },
	{ "pull", 1, 1, 1, 0 },
	{ "load", 1, 0, 0, 0 },
	{ "attach", 1, 1, 1, 0 },
	{ "logs", 1, 1, 1, 0 },
	{ "stop", 1, 1, ANY, 0 },
	{ "kill", 1, 1, ANY, 0 },
	{ "rm", 1, 1, ANY, 0 },
	{ "inspect", 1, 1, ANY, 0 },
	{ "start", 1, 1, ANY, 0 },
	{ "wait", 1, 1, ANY, 0 },
	{ "stats", 1, 0, ANY, 0 },
	{ "port", 1, 1, 2, 0 },
	{ "version", 1, 0, 0, 0 },
	{ "restart", 1, 1, ANY, 0 },
	{ "rename", 1, 2, 2, 0 },
	/* userdocker's own: the image tree, answered by root from the
	 * Engine API (no docker CLI involved, no flags). */
	{ "dockviz", 1, 0, 0, 0 },
};

/* The argv paths docker accepts for each command (commands.tsv, rule 5).
 * "image rm" is rmi, not rm, and "image inspect" is not "inspect": both
 * are deliberately absent. */
struct cmdpath {
	const char *mgmt;     /* NULL for top-level words */
	const char *word;
	const char *canonical;
	int no_type;          /* "container inspect" lacks --type */
};

static const struct cmdpath paths[] = {
	{ NULL, "run", "run", 0 },
	{ NULL, "create", "create", 0 },
	{ NULL, "exec", "exec", 0 },
	{ NULL, "top", "top", 0 },
	{ NULL, "ps", "ps", 0 },
	{ NULL, "images", "images", 0 },
	{ NULL, "pull", "pull", 0 },
	{ NULL, "load", "load", 0 },
	{ NULL, "attach", "attach", 0 },
	{ NULL, "logs", "logs", 0 },
	{ NULL, "stop", "stop", 0 },
	{ NULL, "kill", "kill", 0 },
	{ NULL, "rm", "rm", 0 },
	{ NULL, "remove", "rm", 0 },
	{ NULL, "inspect", "inspect", 0 },
	{ NULL, "start", "start", 0 },
	{ NULL, "wait", "wait", 0 },
	{ NULL, "stats", "stats", 0 },
	{ NULL, "port", "port", 0 },
	{ NULL, "version", "version", 0 },
	{ NULL, "restart", "restart", 0 },
	{ NULL, "rename", "rename", 0 },
	{ NULL, "dockviz", "dockviz", 0 },
	{ "container", "run", "run", 0 },
	{ "container", "create", "create", 0 },
	{ "container", "exec", "exec", 0 },
	{ "container", "top", "top", 0 },
	{ "container", "ls", "ps", 0 },
	{ "container", "ps", "ps", 0 },
	{ "container", "list", "ps", 0 },
	{ "container", "attach", "attach", 0 },
	{ "container", "logs", "logs", 0 },
	{ "container", "stop", "stop", 0 },
	{ "container", "kill", "kill", 0 },
	{ "container", "rm", "rm", 0 },
	{ "container", "remove", "rm", 0 },
	{ "container", "inspect", "inspect", 1 },
	{ "container", "start", "start", 0 },
	{ "container", "wait", "wait", 0 },
	{ "container", "stats", "stats", 0 },
	{ "container", "port", "port", 0 },
	{ "container", "restart", "restart", 0 },
	{ "container", "rename", "rename", 0 },
	{ "image", "ls", "images", 0 },
	{ "image", "list", "images", 0 },
	{ "image", "pull", "pull", 0 },
	{ "image", "load", "load", 0 },
};

/*
 * Spellings to emit instead of "--canonical".  docker 20.10 knows only
 * stop/restart --time, 28 knows --timeout and keeps --time as a deprecated
 * alias that prints a notice on stdout, where scripts read container
 * names.  The shorthand -t means the same value in both, silently; the
 * "-t=VALUE" form strips exactly one '=' (rule 18) and the canonical
 * decimal is never empty, so it is as unambiguous as "--long=value".
 */
static const struct {
	const char *cmd, *canonical, *emit;
} emit_as[] = {
	{ "stop", "--timeout", "-t" },
	{ "restart", "--timeout", "-t" },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- */
/* Display of user input inside one-line error messages. */

struct dispbuf {
	char s[160];
};

/* Control bytes would break the one-line message (and could drive the
 * terminal or a log), and argv elements can be huge: escape and cap. */
static const char *disp_n(struct dispbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, cap = sizeof b->s - 4; /* room for "..." + NUL */

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 > cap)
				break;
			b->s[o++] = (char)c;
		} else {
			if (o + 4 > cap)
				break;
			b->s[o++] = '\\';
			b->s[o++] = 'x';
			b->s[o++] = hex[c >> 4];
			b->s[o++] = hex[c & 15];
		}
	}
	if (i < len) {
		memcpy(b->s + o, "...", 3);
		o += 3;
	}
	b->s[o] = '\0';
	return b->s;
}

static const char *disp(struct dispbuf *b, const char *s)
{
	return disp_n(b, s, strlen(s));
}

/* ---------------------------------------------------------------- */
/* Flag table and command lookup. */

static const struct cmdinfo *cmd_info(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < ARRAY_LEN(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

int argv_known_subcommand(const char *canonical)
{
	return cmd_info(canonical) != NULL;
}

/* longname[0..len) is a whole long name with its dashes. */
static const struct ud_flag *flag_lookup_n(const char *cmd,
					   const char *longname, size_t len)
{
	size_t i;

	for (i = 0; i < ud_nflags; i++) {
		const struct ud_flag *f = &ud_flags[i];

		if (strcmp(f->cmd, cmd) == 0 && strlen(f->name) == len &&
		    memcmp(f->name, longname, len) == 0)
			return f;
	}
	return NULL;
}

const struct ud_flag *flag_lookup(const char *cmd, const char *longname)
{
	if (!cmd || !longname)
		return NULL;
	return flag_lookup_n(cmd, longname, strlen(longname));
}

const struct ud_flag *flag_lookup_short(const char *cmd, char shorthand)
{
	size_t i;

	if (!cmd || shorthand == 0)
		return NULL;
	for (i = 0; i < ud_nflags; i++)
		if (ud_flags[i].shorthand == shorthand &&
		    strcmp(ud_flags[i].cmd, cmd) == 0)
			return &ud_flags[i];
	return NULL;
}

static int in_table(const struct ud_flag *f)
{
	/* Comparing unrelated pointers is not portable C; compare as
	 * integers, which is what we mean on every target we build for. */
	uintptr_t p = (uintptr_t)f, lo = (uintptr_t)&ud_flags[0],
		  hi = (uintptr_t)(&ud_flags[0] + ud_nflags);

	return p >= lo && p < hi && (p - lo) % sizeof *f == 0;
}

static int is_help(const struct ud_flag *f)
{
	return strcmp(f->canonical, "--help") == 0;
}

/* ---------------------------------------------------------------- */
/* Value grammars: Go strconv. */

/* strconv.ParseBool */
static int parse_bool(const char *s, int *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
					 "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
					 "False" };
	size_t i;

	for (i = 0; i < ARRAY_LEN(t); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int is_bool_literal(const char *s)
{
	int b;

	return parse_bool(s, &b) == 0;
}

static char lower(char c)
{
	return (char)(c | ('x' - 'X'));
}

/* strconv.underscoreOK: '_' only between digits, or between the base
 * prefix and a digit.  s is the unsigned part (ParseInt strips the sign
 * before calling ParseUint, which is where Go runs this check). */
static int underscore_ok(const char *s)
{
	char saw = '^';
	size_t i = 0, n = strlen(s);
	int hex = 0;

	if (n >= 1 && (s[0] == '-' || s[0] == '+')) {
		s++;
		n--;
	}
	if (n >= 2 && s[0] == '0' &&
	    (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
		i = 2;
		saw = '0';
		hex = lower(s[1]) == 'x';
	}
	for (; i < n; i++) {
		char c = s[i];

		if ((c >= '0' && c <= '9') ||
		    (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
			saw = '0';
			continue;
		}
		if (c == '_') {
			if (saw != '0')
				return 0;
			saw = '_';
			continue;
		}
		if (saw == '_')
			return 0;
		saw = '!';
	}
	return saw != '_';
}

/* strconv.ParseUint(s, 0, bits); any error (syntax or range) is -1. */
static int go_parse_uint(const char *s, unsigned bits, uint64_t *out)
{
	const char *s0 = s;
	unsigned base = 10;
	uint64_t n = 0, cutoff, maxval;
	int underscores = 0;

	if (*s == '\0' || bits == 0 || bits > 64)
		return -1;
	if (s[0] == '0') {
		size_t len = strlen(s);

		if (len >= 3 && lower(s[1]) == 'b') {
			base = 2;
			s += 2;
		} else if (len >= 3 && lower(s[1]) == 'o') {
			base = 8;
			s += 2;
		} else if (len >= 3 && lower(s[1]) == 'x') {
			base = 16;
			s += 2;
		} else {
			base = 8;
			s += 1;
		}
	}
	cutoff = UINT64_MAX / base + 1;
	maxval = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
	for (; *s; s++) {
		char c = *s;
		unsigned d;
		uint64_t n1;

		if (c == '_') {
			underscores = 1;
			continue;
		} else if (c >= '0' && c <= '9') {
			d = (unsigned)(c - '0');
		} else if (lower(c) >= 'a' && lower(c) <= 'z') {
			d = (unsigned)(lower(c) - 'a') + 10;
		} else {
			return -1;
		}
		if (d >= base)
			return -1;
		if (n >= cutoff)
			return -1;
		n *= base;
		n1 = n + d;
		if (n1 < n || n1 > maxval)
			return -1;
		n = n1;
	}
	if (underscores && !underscore_ok(s0))
		return -1;
	*out = n;
	return 0;
}

/* strconv.ParseInt(s, 0, 64) */
static int go_parse_int64(const char *s, int64_t *out)
{
	int neg = 0;
	uint64_t un;

	if (*s == '\0')
		return -1;
	if (*s == '+') {
		s++;
	} else if (*s == '-') {
		neg = 1;
		s++;
	}
	if (go_parse_uint(s, 64, &un) < 0)
		return -1;
	if (!neg && un > (uint64_t)INT64_MAX)
		return -1;
	if (neg && un > (uint64_t)INT64_MAX + 1)
		return -1;
	if (neg)
		*out = un == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
						      -(int64_t)un;
	else
		*out = (int64_t)un;
	return 0;
}

static unsigned uint_bits(const struct ud_flag *f)
{
	if (strcmp(f->type, "uint8") == 0)
		return 8;
	if (strcmp(f->type, "uint16") == 0)
		return 16;
	if (strcmp(f->type, "uint32") == 0)
		return 32;
	return 64;
}

/* The canonical text of value v for flag f (malloc'd).  f names the flag
 * as the user spelled it, so the message matches what they typed. */
static int canon_value(const struct ud_flag *f, const char *v, char **out,
		       struct ud_err *err)
{
	struct dispbuf d;
	char num[32];
	const char *res = v;
	int b;

	switch (f->vtype) {
	case VT_BOOL:
		if (parse_bool(v, &b) < 0)
			goto invalid;
		res = b ? "true" : "false";
		break;
	case VT_INT: {
		int64_t x;

		if (go_parse_int64(v, &x) < 0)
			goto invalid;
		snprintf(num, sizeof num, "%" PRId64, x);
		res = num;
		break;
	}
	case VT_UINT: {
		uint64_t x;

		if (go_parse_uint(v, uint_bits(f), &x) < 0)
			goto invalid;
		snprintf(num, sizeof num, "%" PRIu64, x);
		res = num;
		break;
	}
	case VT_STRING:
	case VT_LIST:
		break;
	}
	*out = strdup(res);
	if (!*out)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	return 0;
invalid:
	return ud_fail(err, UD_EX_USAGE, "invalid value for %s: %s", f->name,
		       disp(&d, v));
}

/* ---------------------------------------------------------------- */
/* Request building. */

#ifndef UD_ARGV_MAX
#define UD_ARGV_MAX 100000
#endif

/*
 * Make room for element n of *v.  The request carries no capacity, so the
 * capacity is implied by the length: 8, then doubling (n a power of two
 * >= 8 means the array is full).  Hence the rule in request.h that the
 * arrays grow only through request_add_*().  Bounded by UD_ARGV_MAX, so
 * the size arithmetic cannot overflow.
 */
static int grow(void **v, size_t n, size_t sz, struct ud_err *err)
{
	size_t cap;
	void *p;

	if (n >= UD_ARGV_MAX)
		return ud_fail(err, UD_EX_USAGE,
			       "too many options or arguments (limit %d)",
			       UD_ARGV_MAX);
	if (n > 0 && !*v)
		return ud_fail(err, UD_EX_SOFTWARE, "malformed request");
	if (n == 0)
		cap = 8;
	else if (n >= 8 && (n & (n - 1)) == 0)
		cap = n * 2;
	else
		return 0;
	p = realloc(*v, cap * sz);
	if (!p)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	*v = p;
	return 0;
}

int request_add_opt(struct ud_request *req, const struct ud_flag *flag,
		    const char *value, struct ud_err *err)
{
	const struct ud_flag *canon;
	struct dispbuf d;
	char *v;

	if (!req || !flag || !value)
		return ud_fail(err, UD_EX_SOFTWARE,
			       "request_add_opt: missing argument");
	/* Re-resolving through the table both follows aliases and
	 * guarantees the stored row is a real one. */
	canon = flag_lookup(flag->cmd, flag->canonical);
	if (!canon || !in_table(canon) || strcmp(canon->name,
						 canon->canonical) != 0)
		return ud_fail(err, UD_EX_SOFTWARE, "flag %s is not in the table",
			       disp(&d, flag->name));
	if (!cmd_info(canon->cmd))
		return ud_fail(err, UD_EX_SOFTWARE,
			       "flag %s of %s cannot be in a request",
			       canon->name, canon->cmd);
	if (req->subcmd && strcmp(canon->cmd, req->subcmd) != 0)
		return ud_fail(err, UD_EX_SOFTWARE, "flag %s is not a %s flag",
			       canon->name, req->subcmd);
	if (canon_value(flag, value, &v, err) < 0)
		return -1;
	/* --help is cobra's business, not an option docker should
	 * receive from us; it lives in req->help (last one wins). */
	if (is_help(canon)) {
		req->help = strcmp(v, "true") == 0;
		free(v);
		return 0;
	}
	if (grow((void **)&req->opts, req->nopts, sizeof *req->opts, err) < 0) {
		free(v);
		return -1;
	}
	req->opts[req->nopts].flag = canon;
	req->opts[req->nopts].value = v;
	req->nopts++;
	return 0;
}

int request_add_arg(struct ud_request *req, const char *arg,
		    struct ud_err *err)
{
	char *a;

	if (!req || !arg)
		return ud_fail(err, UD_EX_SOFTWARE,
			       "request_add_arg: missing argument");
	if (grow((void **)&req->args, req->nargs, sizeof *req->args, err) < 0)
		return -1;
	a = strdup(arg);
	if (!a)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	req->args[req->nargs++] = a;
	return 0;
}

void request_free(struct ud_request *req)
{
	size_t i;

	if (!req)
		return;
	for (i = 0; i < req->nopts; i++)
		free(req->opts[i].value);
	free(req->opts);
	for (i = 0; i < req->nargs; i++)
		free(req->args[i]);
	free(req->args);
	memset(req, 0, sizeof *req);
}

void strv_free(char **v)
{
	char **p;

	if (!v)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---------------------------------------------------------------- */
/* Parsing. */

struct pctx {
	const struct cmdinfo *ci;
	int no_type;            /* "container inspect": no --type */
	int argc;
	char *const *argv;
	struct ud_request *req;
	struct ud_err *err;
	int saw_time, saw_timeout; /* stop/restart spellings, see below */
};

static const struct ud_flag *lookup_long(const struct pctx *c,
					 const char *name, size_t len)
{
	const struct ud_flag *f = flag_lookup_n(c->ci->name, name, len);

	if (f && c->no_type && strcmp(f->name, "--type") == 0)
		return NULL;
	return f;
}

static int add_rest(struct pctx *c, int from)
{
	int i;

	for (i = from; i < c->argc; i++)
		if (request_add_arg(c->req, c->argv[i], c->err) < 0)
			return -1;
	return 0;
}

/* The separate-form value of f: docker takes argv[i+1] whatever it is
 * (rule 11).  We refuse when it looks like an option, since then the user
 * almost certainly meant something else than docker will do.
 * spelled is the argument that named f, for the messages. */
static int separate_value(struct pctx *c, const struct ud_flag *f,
			  const char *spelled, int *i, const char **value)
{
	struct dispbuf d1, d2;
	const char *v;

	if (*i + 1 >= c->argc)
		return ud_fail(c->err, UD_EX_USAGE,
			       "flag needs an argument: %s",
			       disp(&d1, spelled));
	v = c->argv[*i + 1];
	if (v[0] == '-')
		return ud_fail(c->err, UD_EX_USAGE,
			       "value for %s looks like an option: %s "
			       "(write %s=%s if you mean it)",
			       f->name, disp(&d2, v), f->name, d2.s);
	*value = v;
	(*i)++;
	return 0;
}

/* `--rm false IMAGE`: docker sets --rm and takes "false" as IMAGE (rule
 * 14).  Nobody means that. */
static int check_bool_separate(struct pctx *c, const struct ud_flag *f,
			       int i)
{
	if (i + 1 < c->argc && is_bool_literal(c->argv[i + 1]))
		return ud_fail(c->err, UD_EX_USAGE,
			       "ambiguous: %s takes no separate value, "
			       "write %s=%s (or put -- before %s)",
			       f->name, f->name, c->argv[i + 1],
			       c->argv[i + 1]);
	return 0;
}

/*
 * Apply one flag occurrence.  docker 28 refuses stop/restart given both
 * --time and --timeout (-t), although they share one value; 20.10 has no
 * --timeout and its -t is --time.  Merging them would turn that error
 * into a command, so remember the spellings (checked in argv_parse).
 */
static int apply(struct pctx *c, const struct ud_flag *f, const char *value)
{
	if (strcmp(f->canonical, "--timeout") == 0) {
		if (strcmp(f->name, "--time") == 0)
			c->saw_time = 1;
		else
			c->saw_timeout = 1;
	}
	return request_add_opt(c->req, f, value, c->err);
}

/* pflag parseLongArg */
static int parse_long(struct pctx *c, int *i)
{
	const char *s = c->argv[*i];
	const char *name = s + 2, *eq, *value;
	const struct ud_flag *f;
	struct dispbuf d;
	size_t len;

	if (name[0] == '-' || name[0] == '=')
		return ud_fail(c->err, UD_EX_USAGE, "bad flag syntax: %s",
			       disp(&d, s));
	eq = strchr(name, '=');
	len = eq ? (size_t)(eq - s) : strlen(s);
	f = lookup_long(c, s, len);
	if (!f)
		return ud_fail(c->err, UD_EX_USAGE, "unknown flag: %s",
			       disp_n(&d, s, len));
	if (eq) {
		value = eq + 1;
	} else if (f->vtype == VT_BOOL) {
		if (check_bool_separate(c, f, *i) < 0)
			return -1;
		value = "true";
	} else if (separate_value(c, f, s, i, &value) < 0) {
		return -1;
	}
	(*i)++;
	return apply(c, f, value);
}

/* pflag parseShortArg/parseSingleShortArg, letter by letter. */
static int parse_short(struct pctx *c, int *i)
{
	const char *s = c->argv[*i];
	const char *sh = s + 1;
	int j = *i;

	while (*sh) {
		const struct ud_flag *f;
		const char *value, *next;
		size_t len = strlen(sh);
		struct dispbuf d1, d2;

		/* pflag silently drops the rest of the word here (go test
		 * compatibility); docker would run without those flags. */
		if (strncmp(sh, "test.", 5) == 0)
			return ud_fail(c->err, UD_EX_USAGE,
				       "refusing %s: docker silently ignores "
				       "-test.* options",
				       disp(&d1, s));
		f = flag_lookup_short(c->ci->name, sh[0]);
		if (!f)
			return ud_fail(c->err, UD_EX_USAGE,
				       "unknown shorthand flag: '%s' in -%s",
				       disp_n(&d1, sh, 1), disp(&d2, sh));
		if (len > 2 && sh[1] == '=') {
			/* exactly one '=' is stripped (rule 18) */
			value = sh + 2;
			next = "";
		} else if (f->vtype == VT_BOOL) {
			value = "true";
			next = sh + 1;
			if (*next == '\0' && check_bool_separate(c, f, j) < 0)
				return -1;
		} else if (len > 1) {
			value = sh + 1;
			next = "";
		} else {
			if (separate_value(c, f, s, &j, &value) < 0)
				return -1;
			next = "";
		}
		if (apply(c, f, value) < 0)
			return -1;
		sh = next;
	}
	*i = j + 1;
	return 0;
}

static int find_path(int argc, char *const argv[], const struct cmdpath **out,
		     int *start, struct ud_err *err)
{
	struct dispbuf d1, d2;
	const char *mgmt = NULL, *word;
	size_t k;

	if (argc < 1)
		return ud_fail(err, UD_EX_USAGE, "missing subcommand");
	word = argv[0];
	*start = 1;
	if (strcmp(word, "container") == 0 || strcmp(word, "image") == 0) {
		mgmt = word;
		if (argc < 2)
			return ud_fail(err, UD_EX_USAGE,
				       "missing subcommand after %s", mgmt);
		word = argv[1];
		*start = 2;
		/* Rules 6 and 7: "--" there breaks docker's walk, and the
		 * only flags docker allows there (--help/-h) are ignored for
		 * some subcommands but not others.  Neither is worth it. */
		if (strcmp(word, "--") == 0)
			return ud_fail(err, UD_EX_USAGE,
				       "'--' is not allowed between %s and "
				       "its subcommand",
				       mgmt);
		if (word[0] == '-' && word[1] != '\0')
			return ud_fail(err, UD_EX_USAGE,
				       "options are not allowed between %s "
				       "and its subcommand: %s",
				       mgmt, disp(&d1, word));
	}
	for (k = 0; k < ARRAY_LEN(paths); k++) {
		if ((mgmt == NULL) != (paths[k].mgmt == NULL))
			continue;
		if (mgmt && strcmp(mgmt, paths[k].mgmt) != 0)
			continue;
		if (strcmp(word, paths[k].word) == 0) {
			*out = &paths[k];
			return 0;
		}
	}
	if (mgmt)
		return ud_fail(err, UD_EX_USAGE, "unknown subcommand: %s %s",
			       mgmt, disp(&d2, word));
	return ud_fail(err, UD_EX_USAGE, "unknown subcommand: %s",
		       disp(&d2, word));
}

static int check_arity(const struct cmdinfo *ci, size_t n, struct ud_err *err)
{
	if (n >= ci->min && n <= ci->max)
		return 0;
	if (ci->max == 0)
		return ud_fail(err, UD_EX_USAGE, "%s accepts no arguments",
			       ci->name);
	if (ci->min == ci->max)
		return ud_fail(err, UD_EX_USAGE,
			       "%s requires exactly %zu argument%s", ci->name,
			       ci->min, ci->min == 1 ? "" : "s");
	if (n < ci->min)
		return ud_fail(err, UD_EX_USAGE,
			       "%s requires at least %zu argument%s", ci->name,
			       ci->min, ci->min == 1 ? "" : "s");
	return ud_fail(err, UD_EX_USAGE, "%s accepts at most %zu argument%s",
		       ci->name, ci->max, ci->max == 1 ? "" : "s");
}

static int parse_flags(struct pctx *c, int i)
{
	while (i < c->argc) {
		const char *s = c->argv[i];

		/* "", "-" and words not starting with '-' are positionals */
		if (s[0] != '-' || s[1] == '\0') {
			if (!c->ci->interspersed)
				return add_rest(c, i);
			if (request_add_arg(c->req, s, c->err) < 0)
				return -1;
			i++;
			continue;
		}
		if (strcmp(s, "--") == 0)
			return add_rest(c, i + 1);
		/* run/create: -h is --hostname, yet `docker run -h` alone
		 * is a request for help as far as the user is concerned. */
		if (c->ci->h_is_hostname && strcmp(s, "-h") == 0 &&
		    i == c->argc - 1) {
			c->req->help = 1;
			i++;
			continue;
		}
		if ((s[1] == '-' ? parse_long(c, &i) : parse_short(c, &i)) < 0)
			return -1;
	}
	return 0;
}

int argv_parse(int argc, char *const argv[], struct ud_request *req,
	       struct ud_err *err)
{
	const struct cmdpath *p = NULL;
	struct ud_err scratch;
	struct pctx c;
	int start, i;

	if (!err)
		err = &scratch;
	if (!req)
		return ud_fail(err, UD_EX_SOFTWARE, "argv_parse: no request");
	memset(req, 0, sizeof *req);
	if (argc < 0 || (argc > 0 && !argv))
		return ud_fail(err, UD_EX_USAGE, "no arguments");
	if (argc > UD_ARGV_MAX)
		return ud_fail(err, UD_EX_USAGE,
			       "too many arguments (limit %d)", UD_ARGV_MAX);
	for (i = 0; i < argc; i++)
		if (!argv[i])
			return ud_fail(err, UD_EX_USAGE,
				       "argument %d is missing", i);
	if (find_path(argc, argv, &p, &start, err) < 0)
		return -1;

	c.ci = cmd_info(p->canonical);
	if (!c.ci)
		return ud_fail(err, UD_EX_SOFTWARE, "no command info for %s",
			       p->canonical);
	c.no_type = p->no_type;
	c.argc = argc;
	c.argv = argv;
	c.req = req;
	c.err = err;
	c.saw_time = c.saw_timeout = 0;
	req->subcmd = c.ci->name;

	if (parse_flags(&c, start) < 0)
		goto fail;
	if (c.saw_time && c.saw_timeout) {
		ud_fail(err, UD_EX_USAGE,
			"conflicting options: --time and --timeout (-t), "
			"use one of them");
		goto fail;
	}
	if (!req->help && check_arity(c.ci, req->nargs, err) < 0)
		goto fail;
	return 0;
fail:
	request_free(req);
	return -1;
}

/* ---------------------------------------------------------------- */
/* Serializing. */

static const char *emit_name(const struct ud_flag *f)
{
	size_t k;

	for (k = 0; k < ARRAY_LEN(emit_as); k++)
		if (strcmp(emit_as[k].cmd, f->cmd) == 0 &&
		    strcmp(emit_as[k].canonical, f->name) == 0)
			return emit_as[k].emit;
	return f->name;
}

static char *join_opt(const char *name, const char *value)
{
	size_t ln = strlen(name), lv = strlen(value);
	char *s;

	if (lv > SIZE_MAX - ln - 2)
		return NULL;
	s = malloc(ln + lv + 2);
	if (!s)
		return NULL;
	memcpy(s, name, ln);
	s[ln] = '=';
	memcpy(s + ln + 1, value, lv + 1);
	return s;
}

/* Refuse anything argv_parse could not have produced: the policy may
 * have edited the request, and an argv that parses back differently
 * would let the edit mean something else to docker. */
static int check_request(const struct ud_request *req,
			 const struct cmdinfo **ci, struct ud_err *err)
{
	struct dispbuf d;
	size_t i;

	*ci = req ? cmd_info(req->subcmd) : NULL;
	if (!*ci)
		return ud_fail(err, UD_EX_SOFTWARE,
			       "serialize: unknown subcommand");
	if (req->nopts > UD_ARGV_MAX || req->nargs > UD_ARGV_MAX ||
	    (req->nopts && !req->opts) || (req->nargs && !req->args))
		return ud_fail(err, UD_EX_SOFTWARE,
			       "serialize: malformed request");
	for (i = 0; i < req->nopts; i++) {
		const struct ud_opt *o = &req->opts[i];
		char *v;
		int same;

		if (!o->flag || !in_table(o->flag) || !o->value)
			return ud_fail(err, UD_EX_SOFTWARE,
				       "serialize: malformed option");
		if (strcmp(o->flag->cmd, (*ci)->name) != 0 ||
		    strcmp(o->flag->name, o->flag->canonical) != 0 ||
		    is_help(o->flag))
			return ud_fail(err, UD_EX_SOFTWARE,
				       "serialize: %s is not a canonical %s "
				       "option",
				       o->flag->name, (*ci)->name);
		if (canon_value(o->flag, o->value, &v, err) < 0)
			return -1;
		same = strcmp(v, o->value) == 0;
		free(v);
		if (!same)
			return ud_fail(err, UD_EX_SOFTWARE,
				       "serialize: non-canonical value for "
				       "%s: %s",
				       o->flag->name, disp(&d, o->value));
	}
	for (i = 0; i < req->nargs; i++)
		if (!req->args[i])
			return ud_fail(err, UD_EX_SOFTWARE,
				       "serialize: missing argument");
	if (!req->help && check_arity(*ci, req->nargs, err) < 0) {
		err->code = UD_EX_SOFTWARE;
		return -1;
	}
	return 0;
}

int argv_serialize(const struct ud_request *req, char ***out, size_t *n,
		   struct ud_err *err)
{
	const struct cmdinfo *ci;
	struct ud_err scratch;
	size_t i, k = 0, total;
	int dashdash;
	char **v;

	if (!err)
		err = &scratch;
	if (!out || !n)
		return ud_fail(err, UD_EX_SOFTWARE, "serialize: no output");
	*out = NULL;
	*n = 0;
	if (check_request(req, &ci, err) < 0)
		return -1;

	/* Interspersed commands read flags after positionals, so a
	 * positional that starts with '-' must follow "--".  For the
	 * others "--" before the first positional is what keeps an IMAGE
	 * or CONTAINER from ever being read as a flag. */
	dashdash = !ci->interspersed && strcmp(ci->name, "top") != 0;
	for (i = 0; !dashdash && i < req->nargs; i++)
		if (req->args[i][0] == '-')
			dashdash = 1;

	/* subcmd, --help, opts, --, args, NULL: bounded by UD_ARGV_MAX */
	total = 1 + 1 + req->nopts + 1 + req->nargs + 1;
	v = calloc(total, sizeof *v);
	if (!v)
		return ud_fail_errno(err, UD_EX_OSERR, "out of memory");

	if (!(v[k++] = strdup(ci->name)))
		goto oom;
	if (req->help && !(v[k++] = strdup("--help=true")))
		goto oom;
	for (i = 0; i < req->nopts; i++) {
		const struct ud_opt *o = &req->opts[i];

		if (o->flag->userdocker)
			continue;
		if (!(v[k++] = join_opt(emit_name(o->flag), o->value)))
			goto oom;
	}
	if (dashdash && !(v[k++] = strdup("--")))
		goto oom;
	for (i = 0; i < req->nargs; i++)
		if (!(v[k++] = strdup(req->args[i])))
			goto oom;
	v[k] = NULL;
	*out = v;
	*n = k;
	return 0;
oom:
	ud_fail_errno(err, UD_EX_OSERR, "out of memory");
	strv_free(v);
	return -1;
}
