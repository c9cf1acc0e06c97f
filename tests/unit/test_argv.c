/*
 * test_argv.c - unit tests for the argv model (src/argv.c).
 *
 * Each grammar rule of docker-argv-grammar.md (the shared reference) that
 * the parser implements has a test named after it, using the rule's own
 * examples.
 * Most checks compare the canonical argv (joined with '|') so that the
 * parse and the serialization are pinned down together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

/* NULL-terminated argv literal */
#define A(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int count(const char *const *v)
{
	int n = 0;

	while (v[n])
		n++;
	return n;
}

static char result[65536];

static void join(char **v, size_t n)
{
	size_t i, o = 0;

	result[0] = '\0';
	for (i = 0; i < n; i++) {
		int w = snprintf(result + o, sizeof result - o, "%s%s",
				 i ? "|" : "", v[i]);

		assert_true(w >= 0 && (size_t)w < sizeof result - o);
		o += (size_t)w;
	}
}

/* The canonical argv for argv joined with '|', or "ERR: message". */
static const char *canon(const char *const *argv)
{
	struct ud_request r;
	struct ud_err e = { 0 };
	char **out;
	size_t n;

	if (argv_parse(count(argv), (char *const *)argv, &r, &e) < 0) {
		assert_int_equal(e.code, UD_EX_USAGE);
		assert_null(strchr(e.msg, '\n'));
		assert_null(strstr(e.msg, "userdocker:"));
		/* a failed parse leaves nothing behind */
		assert_null(r.opts);
		assert_null(r.args);
		snprintf(result, sizeof result, "ERR: %s", e.msg);
		return result;
	}
	if (argv_serialize(&r, &out, &n, &e) < 0) {
		snprintf(result, sizeof result, "SERR: %s", e.msg);
		request_free(&r);
		return result;
	}
	assert_null(out[n]);
	join(out, n);
	strv_free(out);
	request_free(&r);
	return result;
}

/* Expect an error whose message contains want. */
#define assert_err(argv, want)                                           \
	do {                                                             \
		const char *got_ = canon(argv);                          \
		if (strncmp(got_, "ERR: ", 5) != 0 ||                    \
		    !strstr(got_, want))                                 \
			fail_msg("want error containing \"%s\", got %s", \
				 want, got_);                            \
	} while (0)

#define assert_canon(argv, want) assert_string_equal(canon(argv), want)

static void parse_ok(const char *const *argv, struct ud_request *r)
{
	struct ud_err e = { 0 };

	if (argv_parse(count(argv), (char *const *)argv, r, &e) < 0)
		fail_msg("parse failed: %s", e.msg);
}

/* ------------------------------------------------------------------ */
/* Flag table */

static void test_table(void **state)
{
	const struct ud_flag *f;

	(void)state;
	assert_true(ud_nflags > 300);

	f = flag_lookup("run", "--volume");
	assert_non_null(f);
	assert_int_equal(f->shorthand, 'v');
	assert_int_equal(f->vtype, VT_LIST);
	assert_int_equal(f->repeatable, 1);
	assert_int_equal(f->userdocker, 0);

	f = flag_lookup("run", "--net");
	assert_non_null(f);
	assert_string_equal(f->canonical, "--network");
	assert_string_equal(flag_lookup("run", "--dns-opt")->canonical,
			    "--dns-option");
	assert_string_equal(flag_lookup("create", "--net-alias")->canonical,
			    "--network-alias");
	assert_string_equal(flag_lookup("stop", "--time")->canonical,
			    "--timeout");
	assert_string_equal(flag_lookup("restart", "--time")->canonical,
			    "--timeout");

	assert_int_equal(flag_lookup("run", "--rm")->vtype, VT_BOOL);
	assert_int_equal(flag_lookup("run", "--cpu-shares")->vtype, VT_INT);
	assert_int_equal(flag_lookup("run", "--health-retries")->vtype,
			 VT_INT);
	assert_int_equal(flag_lookup("run", "--blkio-weight")->vtype,
			 VT_UINT);
	assert_int_equal(flag_lookup("run", "--io-maxiops")->vtype, VT_UINT);
	assert_int_equal(flag_lookup("run", "--memory")->vtype, VT_STRING);
	assert_int_equal(flag_lookup("run", "--cpus")->vtype, VT_STRING);
	assert_int_equal(flag_lookup("run", "--sysctl")->vtype, VT_LIST);
	assert_int_equal(flag_lookup("run", "--ulimit")->vtype, VT_LIST);
	assert_int_equal(flag_lookup("run", "--network")->vtype, VT_LIST);
	assert_int_equal(flag_lookup("ps", "--filter")->vtype, VT_LIST);
	/* -H is a list but not repeatable: one value */
	assert_int_equal(flag_lookup("(global)", "--host")->vtype, VT_STRING);

	f = flag_lookup("run", "--no-default-mounts");
	assert_non_null(f);
	assert_int_equal(f->userdocker, 1);
	assert_int_equal(f->vtype, VT_BOOL);
	assert_int_equal(flag_lookup("ps", "--gpu-used")->userdocker, 1);
	assert_int_equal(flag_lookup("ps", "--gpu-free")->userdocker, 1);
	assert_int_equal(flag_lookup("ps", "--gpu-used-mine")->userdocker, 1);

	assert_string_equal(flag_lookup_short("run", 'h')->name, "--hostname");
	assert_string_equal(flag_lookup_short("ps", 'h')->name, "--help");
	assert_string_equal(flag_lookup_short("rm", 'v')->name, "--volumes");
	assert_string_equal(flag_lookup_short("(global)", 'H')->name,
			    "--host");
	assert_null(flag_lookup_short("run", 'X'));
	assert_null(flag_lookup_short("run", 0));
	assert_null(flag_lookup("run", "volume"));
	assert_null(flag_lookup("run", "--vol"));
	assert_null(flag_lookup(NULL, "--volume"));

	assert_true(argv_known_subcommand("run"));
	assert_true(argv_known_subcommand("create"));
	assert_true(argv_known_subcommand("rename"));
	assert_false(argv_known_subcommand("remove")); /* not canonical */
	assert_false(argv_known_subcommand("rmi"));
	assert_false(argv_known_subcommand("container"));
	assert_false(argv_known_subcommand(NULL));
}

/* ------------------------------------------------------------------ */
/* Grammar rules */

static void test_rule01_global_flags_not_inherited(void **state)
{
	(void)state;
	assert_non_null(flag_lookup("(global)", "--debug"));
	assert_err(A("create", "--debug", "img"), "unknown flag: --debug");
	assert_err(A("create", "-D", "img"), "unknown shorthand flag: 'D'");
	assert_err(A("create", "-H", "unix:///x", "img"),
		   "unknown shorthand flag: 'H'");
	assert_err(A("ps", "--config", "/x"), "unknown flag: --config");
}

static void test_rule02_short_letters_per_command(void **state)
{
	(void)state;
	assert_canon(A("create", "--pull=never", "-h", "local/busybox", "true"),
		     "create|--pull=never|--hostname=local/busybox|--|true");
	assert_canon(A("run", "-c", "5", "-l", "k=v", "-v", "/a:/b", "i"),
		     "run|--cpu-shares=5|--label=k=v|--volume=/a:/b|--|i");
	assert_canon(A("rm", "-v", "c"), "rm|--volumes=true|c");
	assert_canon(A("rm", "-fv", "c"), "rm|--force=true|--volumes=true|c");
}

static void test_rule05_management_forms(void **state)
{
	(void)state;
	assert_canon(A("container", "create", "i"), "create|--|i");
	assert_canon(A("container", "run", "--rm", "i"), "run|--rm=true|--|i");
	assert_canon(A("container", "exec", "c", "id"), "exec|--|c|id");
	assert_canon(A("container", "list", "-q"), "ps|--quiet=true");
	assert_canon(A("container", "ps", "-q"), "ps|--quiet=true");
	assert_canon(A("container", "ls", "-q"), "ps|--quiet=true");
	assert_canon(A("image", "list", "-q"), "images|--quiet=true");
	assert_canon(A("image", "ls", "-q"), "images|--quiet=true");
	assert_canon(A("image", "pull", "alpine"), "pull|alpine");
	assert_canon(A("image", "load", "-i", "f"), "load|--input=f");
	assert_canon(A("remove", "c"), "rm|c");
	assert_canon(A("container", "remove", "c"), "rm|c");
	assert_canon(A("container", "rm", "-f", "c"), "rm|--force=true|c");
	assert_canon(A("container", "top", "c"), "top|c");
	assert_canon(A("container", "rename", "a", "b"), "rename|a|b");
	/* only top-level inspect has --type */
	assert_canon(A("inspect", "--type", "image", "x"),
		     "inspect|--type=image|x");
	assert_canon(A("container", "inspect", "-f", "{{.Id}}", "x"),
		     "inspect|--format={{.Id}}|x");
	assert_err(A("container", "inspect", "--type", "image", "x"),
		   "unknown flag: --type");
	assert_err(A("container", "inspect", "--type=image", "x"),
		   "unknown flag: --type");
	/* image rm is rmi, image inspect is another command */
	assert_err(A("image", "rm", "x"), "unknown subcommand: image rm");
	assert_err(A("image", "remove", "x"), "unknown subcommand");
	assert_err(A("image", "inspect", "x"), "unknown subcommand");
	assert_err(A("rmi", "x"), "unknown subcommand: rmi");
	assert_err(A("image", "run", "x"), "unknown subcommand: image run");
	assert_err(A("container", "images"), "unknown subcommand");
	assert_err(A("container", "version"), "unknown subcommand");
	assert_err(A("network", "ls"), "unknown subcommand: network");
	assert_err(A("list"), "unknown subcommand: list");
	assert_err(A("container"), "missing subcommand");
	assert_err(A("image"), "missing subcommand");
}

static void test_rule06_dashdash_after_management_word(void **state)
{
	(void)state;
	assert_err(A("container", "--", "run", "--rm", "i", "echo", "hi2"),
		   "'--' is not allowed");
	assert_err(A("image", "--", "ls"), "'--' is not allowed");
}

static void test_rule07_flags_after_management_word(void **state)
{
	(void)state;
	assert_err(A("container", "--help=false", "run", "i"),
		   "options are not allowed between container and its "
		   "subcommand: --help=false");
	assert_err(A("container", "--help", "run", "i"), "--help");
	assert_err(A("container", "-h", "run", "i"), "-h");
	assert_err(A("image", "-q", "ls"), "-q");
	/* a word that is not an option is just an unknown subcommand */
	assert_err(A("container", "-", "run"), "unknown subcommand");
	assert_err(A("container", "", "run"), "unknown subcommand");
}

static void test_rule09_no_abbreviation_case_sensitive(void **state)
{
	(void)state;
	assert_err(A("create", "--priv", "i"), "unknown flag: --priv");
	assert_err(A("create", "--privi=true", "i"), "unknown flag: --privi");
	assert_err(A("create", "--Privileged", "i"),
		   "unknown flag: --Privileged");
	assert_err(A("cont", "run", "i"), "unknown subcommand: cont");
	assert_err(A("RUN", "i"), "unknown subcommand: RUN");
	assert_err(A("Container", "run", "i"), "unknown subcommand");
	assert_err(A("container", "Run", "i"), "unknown subcommand");
}

static void test_rule10_unknown_and_malformed(void **state)
{
	(void)state;
	assert_err(A("create", "--foo=bar", "i"), "unknown flag: --foo");
	assert_err(A("create", "-X", "i"), "unknown shorthand flag: 'X' in -X");
	assert_err(A("create", "---privileged", "i"),
		   "bad flag syntax: ---privileged");
	assert_err(A("create", "--=x", "i"), "bad flag syntax: --=x");
	assert_err(A("create", "--=", "i"), "bad flag syntax");
	assert_err(A("create", "-=x", "i"), "unknown shorthand flag: '=' in -=x");
	assert_err(A("ps", "---"), "bad flag syntax");
	assert_err(A("ps", "-itX"), "unknown shorthand flag");
	/* the unknown flag is named without its value */
	assert_err(A("ps", "--nope=secret"), "unknown flag: --nope");
	assert_true(strstr(canon(A("ps", "--nope=secret")), "secret") ==
		    NULL);
}

static void test_rule11_separate_value(void **state)
{
	(void)state;
	assert_canon(A("create", "--user", "root", "i"),
		     "create|--user=root|--|i");
	/* docker takes the next element whatever it is; we refuse */
	assert_err(A("create", "--user", "--privileged", "i", "true"),
		   "value for --user looks like an option: --privileged");
	assert_err(A("create", "--user", "--", "i", "true"),
		   "value for --user looks like an option: --");
	assert_err(A("create", "--entrypoint", "--", "i", "true"),
		   "value for --entrypoint looks like an option: --");
	assert_err(A("create", "--name", "--rm", "i", "true"),
		   "value for --name looks like an option: --rm");
	assert_err(A("create", "-u", "-t", "i"),
		   "value for --user looks like an option: -t");
	assert_err(A("create", "-tu", "-", "i"),
		   "value for --user looks like an option: -");
	assert_err(A("create", "--memory-swap", "-1", "i"),
		   "write --memory-swap=-1");
	/* the attached forms are unambiguous */
	assert_canon(A("create", "--user=--privileged", "i"),
		     "create|--user=--privileged|--|i");
	assert_canon(A("create", "-u--x", "i"), "create|--user=--x|--|i");
	assert_canon(A("create", "--memory-swap=-1", "i"),
		     "create|--memory-swap=-1|--|i");
}

static void test_rule12_attached_value(void **state)
{
	(void)state;
	assert_canon(A("create", "--user=", "i"), "create|--user=|--|i");
	assert_canon(A("create", "--user", "", "i"), "create|--user=|--|i");
	assert_canon(A("create", "--label", "a=b=c", "-e", "X=y=z", "i"),
		     "create|--label=a=b=c|--env=X=y=z|--|i");
	assert_canon(A("create", "--label=a=b=c", "i"),
		     "create|--label=a=b=c|--|i");
	/* strings stay byte-exact */
	assert_canon(A("run", "--name", "\xff\xfe x\ty", "i"),
		     "run|--name=\xff\xfe x\ty|--|i");
}

static void test_rule13_bool_values(void **state)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
					 "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
					 "False" };
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		snprintf(buf, sizeof buf, "--rm=%s", t[i]);
		assert_canon(A("create", buf, "i"), "create|--rm=true|--|i");
		snprintf(buf, sizeof buf, "--rm=%s", f[i]);
		assert_canon(A("create", buf, "i"), "create|--rm=false|--|i");
	}
	assert_err(A("create", "--rm=yes", "i"), "invalid value for --rm: yes");
	assert_err(A("create", "--rm=", "i"), "invalid value for --rm: ");
	assert_err(A("create", "--rm=tRUE", "i"), "invalid value for --rm");
	assert_err(A("create", "--rm= true", "i"), "invalid value for --rm");
	assert_err(A("ps", "-a=on"), "invalid value for --all: on");
	assert_canon(A("ps", "-a=0"), "ps|--all=false");
}

static void test_rule14_bool_separate_value(void **state)
{
	(void)state;
	assert_err(A("create", "--pull=never", "--rm", "false", "i", "true"),
		   "ambiguous: --rm takes no separate value, write --rm=false");
	assert_err(A("create", "--rm", "1", "i"), "ambiguous: --rm");
	assert_err(A("create", "-it", "true", "i"), "ambiguous: --tty");
	assert_err(A("rm", "-f", "True"), "ambiguous: --force");
	assert_err(A("ps", "--help", "0"), "ambiguous: --help");
	/* not a bool word: an ordinary IMAGE */
	assert_canon(A("create", "--rm", "truex"), "create|--rm=true|--|truex");
	/* after "--" it is an ordinary positional */
	assert_canon(A("rm", "-f", "--", "true"), "rm|--force=true|true");
}

static void test_rule15_bool_last_wins(void **state)
{
	struct ud_request r;

	(void)state;
	assert_canon(A("create", "--privileged", "--privileged=false", "i"),
		     "create|--privileged=true|--privileged=false|--|i");
	assert_canon(A("create", "--privileged=false", "--privileged", "i"),
		     "create|--privileged=false|--privileged=true|--|i");
	parse_ok(A("create", "--privileged", "--privileged=false", "i"), &r);
	assert_int_equal(r.nopts, 2);
	assert_string_equal(r.opts[1].value, "false");
	request_free(&r);
}

static void test_rule16_short_clusters(void **state)
{
	(void)state;
	assert_canon(A("create", "-it", "i"),
		     "create|--interactive=true|--tty=true|--|i");
	assert_canon(A("create", "-ti", "i"),
		     "create|--tty=true|--interactive=true|--|i");
	assert_canon(A("create", "-Pit", "i"),
		     "create|--publish-all=true|--interactive=true|"
		     "--tty=true|--|i");
	assert_canon(A("create", "-tu", "root", "i"),
		     "create|--tty=true|--user=root|--|i");
	assert_canon(A("create", "-turoot", "i"),
		     "create|--tty=true|--user=root|--|i");
	assert_canon(A("create", "-ut", "i"), "create|--user=t|--|i");
	assert_canon(A("create", "-vit", "i"), "create|--volume=it|--|i");
	assert_canon(A("ps", "-aqs"),
		     "ps|--all=true|--quiet=true|--size=true");
}

static void test_rule17_value_letter_in_cluster(void **state)
{
	const char *want = "create|--tty=true|--volume=/tmp:/mnt|--|i";

	(void)state;
	assert_canon(A("create", "-tv", "/tmp:/mnt", "i"), want);
	assert_canon(A("create", "-tv/tmp:/mnt", "i"), want);
	assert_canon(A("create", "-tv=/tmp:/mnt", "i"), want);
	assert_canon(A("create", "-itv", "/tmp:/mnt", "i"),
		     "create|--interactive=true|--tty=true|"
		     "--volume=/tmp:/mnt|--|i");
}

static void test_rule18_attached_short_values(void **state)
{
	(void)state;
	assert_canon(A("create", "-unobody", "i"), "create|--user=nobody|--|i");
	assert_canon(A("create", "-u=nobody", "i"),
		     "create|--user=nobody|--|i");
	assert_canon(A("create", "-u==nobody", "i"),
		     "create|--user==nobody|--|i");
	/* only a '=' followed by something is stripped */
	assert_canon(A("create", "-u=", "i"), "create|--user==|--|i");
	assert_canon(A("create", "-e=A=1", "i"), "create|--env=A=1|--|i");
	assert_canon(A("create", "-eA=1", "i"), "create|--env=A=1|--|i");
	assert_canon(A("create", "-lk=v", "i"), "create|--label=k=v|--|i");
	assert_canon(A("create", "-v/tmp:/mnt:ro", "-v=/etc:/e", "i"),
		     "create|--volume=/tmp:/mnt:ro|--volume=/etc:/e|--|i");
}

static void test_rule19_bool_letter_with_value(void **state)
{
	const char *want = "create|--interactive=true|--tty=false|--|i";

	(void)state;
	assert_canon(A("create", "-it=false", "i"), want);
	assert_canon(A("create", "-t=0", "-i", "i"),
		     "create|--tty=false|--interactive=true|--|i");
	/* "-t=" is -t followed by the letter '=' */
	assert_err(A("create", "-t=", "i"), "unknown shorthand flag: '='");
	assert_err(A("create", "-t=x", "i"), "invalid value for --tty: x");
}

static void test_rule20_value_required(void **state)
{
	(void)state;
	assert_err(A("run", "-v"), "flag needs an argument: -v");
	assert_err(A("run", "-tv"), "flag needs an argument: -tv");
	assert_err(A("run", "--user"), "flag needs an argument: --user");
	assert_err(A("ps", "--format"), "flag needs an argument");
}

static void test_rule21_not_interspersed(void **state)
{
	(void)state;
	assert_canon(A("create", "local/busybox", "--privileged", "true"),
		     "create|--|local/busybox|--privileged|true");
	assert_canon(A("create", "local/busybox", "-u", "root", "true"),
		     "create|--|local/busybox|-u|root|true");
	assert_canon(A("exec", "C", "-u", "1234", "id"),
		     "exec|--|C|-u|1234|id");
	assert_canon(A("top", "C", "-ef"), "top|--|C|-ef");
	assert_canon(A("top", "C", "aux"), "top|C|aux");
	/* nothing after IMAGE is looked at: not even grey zones */
	assert_canon(A("run", "i", "--user", "--x", "-test.v", "--rm", "false"),
		     "run|--|i|--user|--x|-test.v|--rm|false");
}

static void test_rule22_dashdash(void **state)
{
	(void)state;
	assert_canon(A("create", "--", "local/busybox", "true"),
		     "create|--|local/busybox|true");
	assert_canon(A("create", "--rm", "--", "local/busybox", "echo", "hi"),
		     "create|--rm=true|--|local/busybox|echo|hi");
	assert_canon(A("create", "local/busybox", "--", "true"),
		     "create|--|local/busybox|--|true");
	assert_canon(A("exec", "--", "C", "echo", "hi"),
		     "exec|--|C|echo|hi");
	assert_canon(A("exec", "C", "--", "echo", "hi"),
		     "exec|--|C|--|echo|hi");
	assert_canon(A("run", "--", "--", "x"), "run|--|--|x");
	assert_canon(A("run", "--", "-x"), "run|--|-x");
}

static void test_rule23_dash_and_empty_positionals(void **state)
{
	(void)state;
	assert_canon(A("create", "--pull=never", "-", "local/busybox", "true"),
		     "create|--pull=never|--|-|local/busybox|true");
	assert_canon(A("create", "--pull=never", "", "--privileged",
		       "local/busybox", "true"),
		     "create|--pull=never|--||--privileged|local/busybox|"
		     "true");
	assert_canon(A("create", "local/busybox", "-"),
		     "create|--|local/busybox|-");
	assert_canon(A("create", "local/busybox", "", "true"),
		     "create|--|local/busybox||true");
	/* interspersed: "-" and "" are positionals, parsing goes on */
	assert_canon(A("rm", "", "-f"), "rm|--force=true|");
	assert_canon(A("rm", "-", "-f"), "rm|--force=true|--|-");
}

static void test_rule24_interspersed(void **state)
{
	(void)state;
	assert_canon(A("inspect", "C", "-f", "{{.State.Status}}"),
		     "inspect|--format={{.State.Status}}|C");
	assert_canon(A("stop", "C", "--time", "1"), "stop|-t=1|C");
	assert_canon(A("kill", "C", "-s", "TERM"), "kill|--signal=TERM|C");
	assert_canon(A("rm", "C", "-f", "-v"),
		     "rm|--force=true|--volumes=true|C");
	assert_canon(A("inspect", "--", "-f"), "inspect|--|-f");
	assert_canon(A("rm", "a", "--", "-f", "--", "b"),
		     "rm|--|a|-f|--|b");
	assert_canon(A("logs", "c", "-n", "5", "-f"),
		     "logs|--tail=5|--follow=true|c");
	assert_canon(A("images", "alpine", "-q"), "images|--quiet=true|alpine");
	assert_canon(A("port", "c", "80/tcp"), "port|c|80/tcp");
	assert_canon(A("stats", "--no-stream", "a", "b"),
		     "stats|--no-stream=true|a|b");
	assert_canon(A("version", "-f", "{{.Client.Version}}"),
		     "version|--format={{.Client.Version}}");
}

static void test_rule25_test_dot(void **state)
{
	(void)state;
	assert_err(A("create", "-test.v", "--privileged", "i", "true"),
		   "refusing -test.v");
	assert_err(A("create", "-t", "-test.x", "i"), "refusing -test.x");
	assert_err(A("ps", "-test.bogus"), "refusing -test.bogus");
	assert_err(A("ps", "-test."), "refusing -test.");
	/* pflag checks at every letter of a cluster */
	assert_err(A("create", "-itest.x", "i"), "refusing -itest.x");
	assert_err(A("ps", "-aqtest.v"), "refusing -aqtest.v");
	assert_err(A("rm", "c", "-test.v"), "refusing");
	/* a value letter swallows it as its value: no dropping there */
	assert_canon(A("create", "-utest.x", "i"),
		     "create|--user=test.x|--|i");
	/* long form is just unknown */
	assert_err(A("create", "--test.v", "i"), "unknown flag: --test.v");
	/* after IMAGE or "--" it is data */
	assert_canon(A("run", "golang", "go", "test", "-test.v"),
		     "run|--|golang|go|test|-test.v");
	assert_canon(A("rm", "--", "-test.v"), "rm|--|-test.v");
}

static void test_rule26_27_repeats_kept_in_order(void **state)
{
	struct ud_request r;

	(void)state;
	assert_canon(A("create", "-u", "a", "-u", "b", "i"),
		     "create|--user=a|--user=b|--|i");
	assert_canon(A("exec", "--user", "root", "--user", "5", "C", "id"),
		     "exec|--user=root|--user=5|--|C|id");
	assert_canon(A("create", "--cap-add", "NET_ADMIN", "--cap-add",
		       "SYS_ADMIN", "--cap-add", "NET_ADMIN", "i"),
		     "create|--cap-add=NET_ADMIN|--cap-add=SYS_ADMIN|"
		     "--cap-add=NET_ADMIN|--|i");
	assert_canon(A("create", "-v", "/tmp:/mnt", "-v", "/tmp:/mnt",
		       "--volume=/etc:/e", "i"),
		     "create|--volume=/tmp:/mnt|--volume=/tmp:/mnt|"
		     "--volume=/etc:/e|--|i");
	parse_ok(A("run", "-e", "A=1", "--env-file", "f", "-e", "A=2", "i"),
		 &r);
	assert_int_equal(r.nopts, 3);
	assert_string_equal(r.opts[0].flag->name, "--env");
	assert_string_equal(r.opts[1].flag->name, "--env-file");
	assert_string_equal(r.opts[2].value, "A=2");
	request_free(&r);
}

static void test_rule30_aliases(void **state)
{
	struct ud_request r;

	(void)state;
	assert_canon(A("create", "--network", "host", "--net", "none", "i"),
		     "create|--network=host|--network=none|--|i");
	assert_canon(A("create", "--net=host", "i"),
		     "create|--network=host|--|i");
	assert_canon(A("create", "--network", "n", "--net-alias", "foo",
		       "--network-alias", "bar", "i"),
		     "create|--network=n|--network-alias=foo|"
		     "--network-alias=bar|--|i");
	assert_canon(A("create", "--dns-opt", "ndots:1", "--dns-option",
		       "x:2", "i"),
		     "create|--dns-option=ndots:1|--dns-option=x:2|--|i");
	/* the request holds the canonical row, the same object */
	parse_ok(A("run", "--net", "a", "--network", "b", "i"), &r);
	assert_ptr_equal(r.opts[0].flag, r.opts[1].flag);
	assert_ptr_equal(r.opts[0].flag, flag_lookup("run", "--network"));
	request_free(&r);
	/* stop/restart: canonical --timeout, emitted as -t=N: 20.10 has
	 * only --time/-t, 28 --timeout/-t and a noisy --time alias */
	parse_ok(A("stop", "--time", "0x1", "c"), &r);
	assert_string_equal(r.opts[0].flag->name, "--timeout");
	assert_string_equal(r.opts[0].value, "1");
	request_free(&r);
	assert_canon(A("stop", "--timeout=3", "c"), "stop|-t=3|c");
	assert_canon(A("restart", "-t", "3", "c"), "restart|-t=3|c");
	assert_canon(A("restart", "--time=3", "c"), "restart|-t=3|c");
	assert_err(A("kill", "--time", "3", "c"), "unknown flag: --time");
	/* 28 refuses both spellings together; 20.10 reads -t as --time */
	assert_err(A("stop", "--time=1", "--timeout=2", "c"),
		   "conflicting options: --time and --timeout");
	assert_err(A("restart", "-t", "1", "c", "--time", "2"),
		   "conflicting options");
	assert_canon(A("stop", "--time=1", "--time=2", "c"),
		     "stop|-t=1|-t=2|c");
	assert_canon(A("stop", "-t=1", "--timeout=2", "c"),
		     "stop|-t=1|-t=2|c");
}

static void test_rule31_hidden_deprecated_and_help(void **state)
{
	struct ud_request r;

	(void)state;
	assert_canon(A("stop", "C", "--time", "1"), "stop|-t=1|C");
	assert_canon(A("run", "--dns-opt=a", "i"), "run|--dns-option=a|--|i");
	/* -h: the deprecated help shorthand everywhere but run/create */
	parse_ok(A("ps", "-h"), &r);
	assert_int_equal(r.help, 1);
	assert_int_equal(r.nopts, 0);
	request_free(&r);
	assert_canon(A("ps", "-h"), "ps|--help=true");
	assert_canon(A("ps", "-qh"), "ps|--help=true|--quiet=true");
	assert_canon(A("exec", "-h"), "exec|--help=true|--");
	assert_canon(A("rm", "-h"), "rm|--help=true");
	assert_canon(A("top", "-h"), "top|--help=true");
}

static void test_help(void **state)
{
	(void)state;
	/* help suppresses the arity check, anywhere among the flags */
	assert_canon(A("run", "--help"), "run|--help=true|--");
	assert_canon(A("run", "--help=true"), "run|--help=true|--");
	assert_canon(A("run", "--rm", "--help", "i"),
		     "run|--help=true|--rm=true|--|i");
	assert_canon(A("ps", "x", "--help"), "ps|--help=true|x");
	assert_canon(A("rename", "--help"), "rename|--help=true");
	assert_canon(A("container", "exec", "--help"), "exec|--help=true|--");
	/* last one wins, as for every bool */
	assert_canon(A("run", "--help=false", "i"), "run|--|i");
	assert_canon(A("ps", "--help", "--help=false"), "ps");
	assert_err(A("run", "--help=false"), "run requires at least 1");
	/* after IMAGE it belongs to the command */
	assert_canon(A("run", "i", "--help"), "run|--|i|--help");
	/* run/create: -h is --hostname, unless it is the last word */
	assert_canon(A("run", "-h"), "run|--help=true|--");
	assert_canon(A("create", "-h"), "create|--help=true|--");
	assert_canon(A("run", "--rm", "-h"), "run|--help=true|--rm=true|--");
	assert_canon(A("run", "-h", "x", "i"), "run|--hostname=x|--|i");
	assert_err(A("run", "-h", "i"), "run requires at least 1 argument");
	assert_err(A("run", "-th"), "flag needs an argument");
	/* grey zones and unknown flags still fail with help */
	assert_err(A("ps", "--help", "--nope"), "unknown flag: --nope");
	assert_err(A("run", "--help", "-test.v"), "refusing");
}

static void test_rule33_numbers(void **state)
{
	static const struct {
		const char *flag, *in, *out; /* out NULL: invalid */
	} t[] = {
		{ "--oom-score-adj", "0x10", "16" },
		{ "--cpu-shares", "0b1010", "10" },
		{ "--pids-limit", "1_000", "1000" },
		{ "--stop-timeout", "010", "8" },
		{ "--cpu-shares", "0", "0" },
		{ "--cpu-shares", "-0", "0" },
		{ "--cpu-shares", "+5", "5" },
		{ "--cpu-shares", "-5", "-5" },
		{ "--cpu-shares", "0o17", "15" },
		{ "--cpu-shares", "0O17", "15" },
		{ "--cpu-shares", "0X1F", "31" },
		{ "--cpu-shares", "0B11", "3" },
		{ "--cpu-shares", "0x_1f", "31" },
		{ "--cpu-shares", "0_1", "1" },
		{ "--cpu-shares", "1_2_3", "123" },
		{ "--cpu-shares", "-1_000", "-1000" },
		{ "--cpu-shares", "007", "7" },
		{ "--cpu-shares", "9223372036854775807",
		  "9223372036854775807" },
		{ "--cpu-shares", "-9223372036854775808",
		  "-9223372036854775808" },
		{ "--cpu-shares", "0x7fffffffffffffff",
		  "9223372036854775807" },
		{ "--cpu-shares", "-0x8000000000000000",
		  "-9223372036854775808" },
		{ "--cpu-shares", "9223372036854775808", NULL },
		{ "--cpu-shares", "-9223372036854775809", NULL },
		{ "--cpu-shares", "0x8000000000000000", NULL },
		{ "--cpu-shares", "99999999999999999999999", NULL },
		{ "--cpu-shares", "", NULL },
		{ "--cpu-shares", "xyz", NULL },
		{ "--cpu-shares", "-", NULL },
		{ "--cpu-shares", "+", NULL },
		{ "--cpu-shares", "+-5", NULL },
		{ "--cpu-shares", "--5", NULL },
		{ "--cpu-shares", " 1", NULL },
		{ "--cpu-shares", "1 ", NULL },
		{ "--cpu-shares", "1.0", NULL },
		{ "--cpu-shares", "1e3", NULL },
		{ "--cpu-shares", "08", NULL },
		{ "--cpu-shares", "0x", NULL },
		{ "--cpu-shares", "0b", NULL },
		{ "--cpu-shares", "0o", NULL },
		{ "--cpu-shares", "0b2", NULL },
		{ "--cpu-shares", "0x1g", NULL },
		{ "--cpu-shares", "_1", NULL },
		{ "--cpu-shares", "1_", NULL },
		{ "--cpu-shares", "1__0", NULL },
		{ "--cpu-shares", "+_1", NULL },
		{ "--cpu-shares", "0x__1", NULL },
		{ "--cpu-shares", "0_x1", NULL },
		{ "--cpu-shares", "٣", NULL },
		{ "--health-retries", "0x10", "16" },
		{ "--blkio-weight", "65535", "65535" },
		{ "--blkio-weight", "0xffff", "65535" },
		{ "--blkio-weight", "65536", NULL },
		{ "--blkio-weight", "-1", NULL },
		{ "--blkio-weight", "+1", NULL },
		{ "--blkio-weight", "-0", NULL },
		{ "--blkio-weight", "1_0", "10" },
		{ "--io-maxiops", "18446744073709551615",
		  "18446744073709551615" },
		{ "--io-maxiops", "0xffffffffffffffff",
		  "18446744073709551615" },
		{ "--io-maxiops", "18446744073709551616", NULL },
		{ "--io-maxiops", "0x10000000000000000", NULL },
	};
	char arg[128], want[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(arg, sizeof arg, "%s=%s", t[i].flag, t[i].in);
		if (t[i].out) {
			snprintf(want, sizeof want, "run|%s=%s|--|i",
				 t[i].flag, t[i].out);
			assert_canon(A("run", arg, "i"), want);
		} else {
			snprintf(want, sizeof want, "invalid value for %s: ",
				 t[i].flag);
			assert_err(A("run", arg, "i"), want);
		}
	}
	assert_err(A("run", "--cpu-shares", "xyz", "i"),
		   "invalid value for --cpu-shares: xyz");
	assert_canon(A("ps", "-n", "0x10"), "ps|--last=16");
	assert_canon(A("ps", "--last=-1"), "ps|--last=-1");
	assert_canon(A("stop", "-t", "010", "c"), "stop|-t=8|c");
	/* strings with number-like grammars are left alone */
	assert_canon(A("run", "--memory", "1.5 GiB", "--cpus", "3/2", "i"),
		     "run|--memory=1.5 GiB|--cpus=3/2|--|i");
	/* the alias is named as the user spelled it */
	assert_err(A("stop", "--time", "x", "c"), "invalid value for --time");
}

static void test_rule36_arity(void **state)
{
	(void)state;
	assert_err(A("create", "--pull=never"),
		   "create requires at least 1 argument");
	assert_err(A("run"), "run requires at least 1 argument");
	assert_err(A("exec"), "exec requires at least 2 arguments");
	assert_err(A("exec", "c"), "exec requires at least 2 arguments");
	assert_err(A("top"), "top requires at least 1");
	assert_err(A("ps", "x"), "ps accepts no arguments");
	assert_err(A("load", "x"), "load accepts no arguments");
	assert_err(A("version", "x"), "version accepts no arguments");
	assert_err(A("images", "a", "b"), "images accepts at most 1 argument");
	assert_err(A("pull"), "pull requires exactly 1 argument");
	assert_err(A("pull", "a", "b"), "pull requires exactly 1 argument");
	assert_err(A("attach"), "attach requires exactly 1");
	assert_err(A("logs", "a", "b"), "logs requires exactly 1");
	assert_err(A("rename", "a"), "rename requires exactly 2 arguments");
	assert_err(A("port"), "port requires at least 1");
	assert_err(A("port", "c", "1", "2"), "port accepts at most 2");
	assert_err(A("stop"), "stop requires at least 1");
	assert_err(A("kill"), "kill requires at least 1");
	assert_err(A("rm"), "rm requires at least 1");
	assert_err(A("inspect"), "inspect requires at least 1");
	assert_err(A("start"), "start requires at least 1");
	assert_err(A("wait"), "wait requires at least 1");
	assert_err(A("restart"), "restart requires at least 1");
	assert_canon(A("stats"), "stats");
	assert_canon(A("images"), "images");
	assert_canon(A("ps", "--"), "ps");
	assert_err(A("ps", "--", "x"), "ps accepts no arguments");
}

static void test_subcommands(void **state)
{
	(void)state;
	assert_err(A(""), "unknown subcommand: ");
	assert_err(A("cp", "a", "b"), "unknown subcommand: cp");
	assert_err(A("--debug", "ps"), "unknown subcommand: --debug");
	assert_err(A("ru"), "unknown subcommand: ru");
	assert_err(A("run\n"), "unknown subcommand: run\\x0a");
	assert_canon(A("attach", "c"), "attach|c");
	assert_canon(A("start", "-ai", "c"),
		     "start|--attach=true|--interactive=true|c");
	assert_canon(A("wait", "a", "b"), "wait|a|b");
	assert_canon(A("pull", "-q", "alpine"), "pull|--quiet=true|alpine");
	assert_canon(A("load", "-q"), "load|--quiet=true");
}

static void test_userdocker_options(void **state)
{
	struct ud_request r;

	(void)state;
	parse_ok(A("run", "--no-default-mounts", "i"), &r);
	assert_int_equal(r.nopts, 1);
	assert_int_equal(r.opts[0].flag->userdocker, 1);
	assert_string_equal(r.opts[0].value, "true");
	request_free(&r);
	assert_canon(A("run", "--no-default-mounts", "--rm", "i"),
		     "run|--rm=true|--|i");
	assert_canon(A("ps", "--gpu-used", "--gpu-free", "--gpu-used-mine=0",
		       "-a"),
		     "ps|--all=true");
	assert_err(A("images", "--gpu-used"), "unknown flag: --gpu-used");
	assert_err(A("ps", "--no-default-mounts"), "unknown flag");
}

static void test_serialize_exact(void **state)
{
	(void)state;
	assert_canon(A("run", "-it", "--rm", "-v", "/data:/data", "-e",
		       "A=b c", "ubuntu:22.04", "bash", "-c", "echo $A"),
		     "run|--interactive=true|--tty=true|--rm=true|"
		     "--volume=/data:/data|--env=A=b c|--|ubuntu:22.04|bash|"
		     "-c|echo $A");
	assert_canon(A("ps"), "ps");
	assert_canon(A("ps", "-f", "name=x", "--format", "{{.ID}}"),
		     "ps|--filter=name=x|--format={{.ID}}");
	assert_canon(A("rm", "-f", "a", "b"), "rm|--force=true|a|b");
	assert_canon(A("rm", "a", "--", "-b"), "rm|--|a|-b");
	assert_canon(A("exec", "-it", "c", "sh"),
		     "exec|--interactive=true|--tty=true|--|c|sh");
	assert_canon(A("logs", "-f", "--since=1h", "c"),
		     "logs|--follow=true|--since=1h|c");
}

static void test_bounds(void **state)
{
	struct ud_request r;
	struct ud_err e = { 0 };
	char **v;
	int i, n = 100001;

	(void)state;
	v = calloc((size_t)n + 1, sizeof *v);
	assert_non_null(v);
	v[0] = "rm";
	for (i = 1; i < n; i++)
		v[i] = "c";
	assert_int_equal(argv_parse(n, v, &r, &e), -1);
	assert_int_equal(e.code, UD_EX_USAGE);
	assert_non_null(strstr(e.msg, "too many"));
	/* 100000 is still fine */
	assert_int_equal(argv_parse(n - 1, v, &r, &e), 0);
	assert_int_equal(r.nargs, (size_t)(n - 2));
	request_free(&r);
	for (i = 1; i < n - 1; i++)
		v[i] = "-f";
	v[n - 2] = "c";
	assert_int_equal(argv_parse(n - 1, v, &r, &e), 0);
	assert_int_equal(r.nopts, (size_t)(n - 3));
	request_free(&r);
	free(v);

	assert_int_equal(argv_parse(0, NULL, &r, &e), -1);
	assert_non_null(strstr(e.msg, "missing subcommand"));
	assert_int_equal(argv_parse(-1, NULL, &r, &e), -1);
	{
		char *const bad[] = { "rm", NULL, "x" };

		assert_int_equal(argv_parse(3, bad, &r, &e), -1);
	}
	assert_int_equal(argv_parse(1, (char *const *)A("ps"), NULL, &e),
			 -1);
	/* err may be NULL */
	assert_int_equal(argv_parse(1, (char *const *)A("nope"), &r, NULL),
			 -1);

	/* long values survive, and messages stay short */
	{
		size_t len = 1 << 20;
		char *big = malloc(len + 3);

		assert_non_null(big);
		memset(big, 'x', len + 2);
		big[0] = '-';
		big[1] = '-';
		big[len + 2] = '\0';
		assert_int_equal(argv_parse(2, (char *const *)A("ps", big),
					    &r, &e), -1);
		assert_true(strlen(e.msg) < 300);
		big[1] = 'x';
		memcpy(big, "--format=", 9);
		assert_int_equal(argv_parse(2, (char *const *)A("ps", big),
					    &r, &e), 0);
		assert_int_equal(strlen(r.opts[0].value), len + 2 - 9);
		request_free(&r);
		free(big);
	}
}

/* ------------------------------------------------------------------ */
/* The request API as the policy uses it */

static void test_request_api(void **state)
{
	struct ud_request r;
	struct ud_err e = { 0 };
	struct ud_flag fake;
	char **out;
	size_t n;

	(void)state;
	parse_ok(A("run", "i"), &r);
	assert_int_equal(request_add_opt(&r, flag_lookup("run", "--net"),
					 "none", &e), 0);
	assert_ptr_equal(r.opts[0].flag, flag_lookup("run", "--network"));
	assert_int_equal(request_add_opt(&r, flag_lookup("run", "--rm"), "1",
					 &e), 0);
	assert_string_equal(r.opts[1].value, "true");
	assert_int_equal(request_add_opt(&r,
					 flag_lookup("run", "--cpu-shares"),
					 "0x10", &e), 0);
	assert_string_equal(r.opts[2].value, "16");
	assert_int_equal(request_add_opt(&r,
					 flag_lookup("run", "--cpu-shares"),
					 "x", &e), -1);
	assert_int_equal(e.code, UD_EX_USAGE);
	/* flags of another command, or outside the table, are refused */
	assert_int_equal(request_add_opt(&r, flag_lookup("ps", "--all"),
					 "true", &e), -1);
	fake = *flag_lookup("run", "--rm");
	fake.canonical = "--nope";
	assert_int_equal(request_add_opt(&r, &fake, "true", &e), -1);
	assert_int_equal(request_add_opt(&r, NULL, "true", &e), -1);
	assert_int_equal(request_add_opt(&r, flag_lookup("run", "--rm"), NULL,
					 &e), -1);
	assert_int_equal(request_add_arg(&r, "echo", &e), 0);
	assert_int_equal(request_add_arg(&r, NULL, &e), -1);
	assert_int_equal(r.nopts, 3);
	assert_int_equal(argv_serialize(&r, &out, &n, &e), 0);
	join(out, n);
	assert_string_equal(result, "run|--network=none|--rm=true|"
				    "--cpu-shares=16|--|i|echo");
	strv_free(out);

	/* --help via the API sets req->help */
	assert_int_equal(request_add_opt(&r, flag_lookup("run", "--help"),
					 "true", &e), 0);
	assert_int_equal(r.help, 1);
	assert_int_equal(r.nopts, 3);

	/* serialize refuses what parse could not have produced */
	free(r.opts[1].value);
	r.opts[1].value = strdup("1");
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	assert_null(out);
	assert_non_null(strstr(e.msg, "non-canonical"));
	free(r.opts[1].value);
	r.opts[1].value = strdup("true");
	r.opts[0].flag = flag_lookup("run", "--net");
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.opts[0].flag = flag_lookup("ps", "--all");
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.opts[0].flag = flag_lookup("run", "--help");
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.opts[0].flag = &fake;
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.opts[0].flag = flag_lookup("run", "--network");
	assert_int_equal(argv_serialize(&r, &out, &n, &e), 0);
	strv_free(out);
	/* arity is checked too (unless help) */
	r.help = 0;
	free(r.args[0]);
	free(r.args[1]);
	r.nargs = 0;
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.subcmd = "remove";
	assert_int_equal(argv_serialize(&r, &out, &n, &e), -1);
	r.subcmd = "run";
	request_free(&r);
	assert_null(r.opts);
	request_free(&r); /* idempotent */
	request_free(NULL);
	strv_free(NULL);

	/* a request built from scratch */
	memset(&r, 0, sizeof r);
	r.subcmd = "stop";
	assert_int_equal(request_add_opt(&r, flag_lookup("stop", "--time"),
					 "5", &e), 0);
	assert_int_equal(request_add_arg(&r, "-c", &e), 0);
	assert_int_equal(argv_serialize(&r, &out, &n, &e), 0);
	join(out, n);
	assert_string_equal(result, "stop|-t=5|--|-c");
	strv_free(out);
	request_free(&r);
}

/* ------------------------------------------------------------------ */
/* Round trip */

static void assert_same_request(const struct ud_request *a,
				const struct ud_request *b)
{
	size_t i, j = 0;

	assert_string_equal(a->subcmd, b->subcmd);
	assert_int_equal(a->help, b->help);
	for (i = 0; i < a->nopts; i++) {
		if (a->opts[i].flag->userdocker)
			continue;
		assert_true(j < b->nopts);
		assert_ptr_equal(a->opts[i].flag, b->opts[j].flag);
		assert_string_equal(a->opts[i].value, b->opts[j].value);
		j++;
	}
	assert_int_equal(j, b->nopts);
	assert_int_equal(a->nargs, b->nargs);
	for (i = 0; i < a->nargs; i++)
		assert_string_equal(a->args[i], b->args[i]);
}

static const char *const *const roundtrip_cases[] = {
	A("run", "-it", "--rm", "ubuntu", "bash"),
	A("run", "-it=false", "-P", "-p", "80:80", "--", "-weird", "x"),
	A("run", "--net", "host", "--net-alias=a", "--dns-opt", "x", "i"),
	A("run", "-h"),
	A("run", "--help", "--rm"),
	A("run", "-u==x", "-u=", "--user=", "-e", "", "i", "--", "-h"),
	A("run", "--cpu-shares", "0x10", "--blkio-weight=0b1", "i"),
	A("run", "--no-default-mounts", "-v", "/a:/b", "i"),
	A("create", "--entrypoint=", "--name=--rm", "i", "-test.v"),
	A("container", "run", "-d", "--", "", "true"),
	A("exec", "-it", "c", "-u", "root"),
	A("exec", "--help"),
	A("top", "c", "-ef"),
	A("top", "--", "-c", "aux"),
	A("ps", "-aqn", "3", "--filter=status=exited", "-h"),
	A("ps", "--gpu-used-mine"),
	A("images", "-", "--digests"),
	A("images", "--", "-x"),
	A("rm", "", "-fv"),
	A("rm", "a", "--", "--force", "true"),
	A("inspect", "--type=container", "-s", "a", "b"),
	A("container", "inspect", "-f=--", "--", "-x"),
	A("stop", "-t=-1_0", "a"),
	A("stop", "--time=1", "--time=2", "a"),
	A("restart", "-s", "TERM", "a"),
	A("kill", "-s=KILL", "a"),
	A("logs", "-ft", "--tail", "all", "c"),
	A("attach", "--sig-proxy=false", "--", "-c"),
	A("start", "-ai", "c"),
	A("wait", "a"),
	A("stats", "--format", "{{.Name}}"),
	A("port", "c", "80"),
	A("version", "-f={{.Server}}"),
	A("rename", "a", "b"),
	A("pull", "-a", "x"),
	A("load", "-i=/dev/null"),
	A("image", "ls", "--tree"),
	A("remove", "--link", "x"),
};

static void roundtrip(const char *const *argv)
{
	struct ud_request r1, r2;
	struct ud_err e = { 0 };
	char **o1, **o2;
	size_t n1, n2, i;

	parse_ok(argv, &r1);
	assert_int_equal(argv_serialize(&r1, &o1, &n1, &e), 0);
	if (argv_parse((int)n1, o1, &r2, &e) < 0)
		fail_msg("re-parse failed: %s", e.msg);
	assert_same_request(&r1, &r2);
	assert_int_equal(argv_serialize(&r2, &o2, &n2, &e), 0);
	assert_int_equal(n1, n2);
	for (i = 0; i < n1; i++)
		assert_string_equal(o1[i], o2[i]);
	strv_free(o1);
	strv_free(o2);
	request_free(&r1);
	request_free(&r2);
}

static void test_roundtrip(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof roundtrip_cases / sizeof roundtrip_cases[0];
	     i++)
		roundtrip(roundtrip_cases[i]);
}

/* Every flag of every command, in long, short and cluster forms. */
static void test_roundtrip_all_flags(void **state)
{
	static const char *const cmds[] = {
		"run", "create", "exec", "ps", "images", "pull", "load",
		"attach", "logs", "stop", "kill", "rm", "inspect", "start",
		"wait", "top", "stats", "port", "version", "restart", "rename",
	};
	size_t c, k;

	(void)state;
	for (c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
		const char *cmd = cmds[c];
		int noargs = !strcmp(cmd, "ps") || !strcmp(cmd, "load") ||
			     !strcmp(cmd, "version") ||
			     !strcmp(cmd, "images") || !strcmp(cmd, "stats");
		int two = !strcmp(cmd, "exec") || !strcmp(cmd, "rename");

		for (k = 0; k < ud_nflags; k++) {
			const struct ud_flag *f = &ud_flags[k];
			const char *val = f->vtype == VT_BOOL ? "false" :
					  (f->vtype == VT_INT ||
					   f->vtype == VT_UINT) ? "0x1f" :
								  "v=1,x";
			char lng[128], sht[128];
			const char *pos1 = noargs ? NULL : "c";
			const char *pos2 = two ? "d" : NULL;

			if (strcmp(f->cmd, cmd) != 0)
				continue;
			snprintf(lng, sizeof lng, "%s=%s", f->name, val);
			roundtrip(A(cmd, lng, pos1, pos2));
			if (f->shorthand) {
				snprintf(sht, sizeof sht, "-%c%s%s",
					 f->shorthand,
					 f->vtype == VT_BOOL ? "=" : "",
					 val);
				roundtrip(A(cmd, sht, pos1, pos2));
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_rule01_global_flags_not_inherited),
		cmocka_unit_test(test_rule02_short_letters_per_command),
		cmocka_unit_test(test_rule05_management_forms),
		cmocka_unit_test(test_rule06_dashdash_after_management_word),
		cmocka_unit_test(test_rule07_flags_after_management_word),
		cmocka_unit_test(test_rule09_no_abbreviation_case_sensitive),
		cmocka_unit_test(test_rule10_unknown_and_malformed),
		cmocka_unit_test(test_rule11_separate_value),
		cmocka_unit_test(test_rule12_attached_value),
		cmocka_unit_test(test_rule13_bool_values),
		cmocka_unit_test(test_rule14_bool_separate_value),
		cmocka_unit_test(test_rule15_bool_last_wins),
		cmocka_unit_test(test_rule16_short_clusters),
		cmocka_unit_test(test_rule17_value_letter_in_cluster),
		cmocka_unit_test(test_rule18_attached_short_values),
		cmocka_unit_test(test_rule19_bool_letter_with_value),
		cmocka_unit_test(test_rule20_value_required),
		cmocka_unit_test(test_rule21_not_interspersed),
		cmocka_unit_test(test_rule22_dashdash),
		cmocka_unit_test(test_rule23_dash_and_empty_positionals),
		cmocka_unit_test(test_rule24_interspersed),
		cmocka_unit_test(test_rule25_test_dot),
		cmocka_unit_test(test_rule26_27_repeats_kept_in_order),
		cmocka_unit_test(test_rule30_aliases),
		cmocka_unit_test(test_rule31_hidden_deprecated_and_help),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_rule33_numbers),
		cmocka_unit_test(test_rule36_arity),
		cmocka_unit_test(test_subcommands),
		cmocka_unit_test(test_userdocker_options),
		cmocka_unit_test(test_serialize_exact),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_request_api),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_all_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
