# shellcheck shell=bash
# tests/lib/tap.sh - a tiny TAP producer for bash test scripts.
#
# Source it, then call the assertions; finish with done_testing, which
# prints the plan ("1..N") after the results, as TAP allows.
#
#   ok NAME                  a passing test
#   not_ok NAME [DIAG...]    a failing test, each DIAG printed as "# " lines
#   ok_if NAME CMD...        passes when CMD exits 0
#   is GOT EXPECTED NAME     string equality
#   isnt GOT UNEXPECTED NAME
#   like GOT ERE NAME        some line of GOT matches the extended regexp
#   unlike GOT ERE NAME      no line of GOT matches
#   contains GOT TEXT NAME   GOT contains TEXT (fixed string, any position)
#   skip REASON NAME         a skipped test
#   diag TEXT...             "# " lines on stdout
#   bail_out REASON          "Bail out!" and exit 1 (the EXIT trap cleans up)
#   run_cmd CMD...           run CMD with stdin from /dev/null (its output
#                            goes through files in TAP_TMPDIR); sets RUN_OUT,
#                            RUN_ERR (trailing newlines stripped), RUN_STATUS
#                            and RUN_CMD; a failing assertion made after it
#                            also prints that command, its status and stderr
#   done_testing             prints "1..N"; returns 1 if any test failed
#   (ud_close_fds, used by users.sh, is defined in daemon.sh)
#
# like/unlike use grep -E, so "^" and "$" anchor at line boundaries: that is
# what one wants for command output.

TAP_N=0
TAP_FAILED=0
TAP_TIMEOUT=${TAP_TIMEOUT:-120}
RUN_OUT='' RUN_ERR='' RUN_STATUS='' RUN_CMD=''

diag() {
	local text="$*"
	[ -n "$text" ] || return 0
	printf '%s\n' "$text" | sed 's/^/# /'
}

ok() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

not_ok() {
	local name=$1
	shift
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_N" "$name"
	local d
	for d in "$@"; do
		diag "$d"
	done
	_tap_run_diag
}

skip() {
	TAP_N=$((TAP_N + 1))
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$2" "$1"
}

bail_out() {
	printf 'Bail out! %s\n' "$*"
	exit 1
}

# The last run_cmd, shown under a failure so the reader sees what happened.
_tap_run_diag() {
	[ -n "$RUN_CMD" ] || return 0
	diag "last command: $RUN_CMD"
	diag "  status: $RUN_STATUS"
	if [ -n "$RUN_OUT" ]; then
		diag "  stdout:"
		diag "$(printf '%s\n' "$RUN_OUT" | head -n 20 | sed 's/^/    /')"
	fi
	if [ -n "$RUN_ERR" ]; then
		diag "  stderr:"
		diag "$(printf '%s\n' "$RUN_ERR" | head -n 20 | sed 's/^/    /')"
	fi
}

ok_if() {
	local name=$1
	shift
	if "$@"; then
		ok "$name"
	else
		not_ok "$name" "command failed: $*"
	fi
}

is() {
	if [ "$1" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "     got: '$1'" "expected: '$2'"
	fi
}

isnt() {
	if [ "$1" != "$2" ]; then
		ok "$3"
	else
		not_ok "$3" "     got: '$1'" "expected anything else"
	fi
}

# (grep without -q: it reads all its input, so that printf never meets a
# closed pipe, which pipefail would count as a failure.)
like() {
	if printf '%s\n' "$1" | grep -E -- "$2" >/dev/null; then
		ok "$3"
	else
		not_ok "$3" "     got: '$1'" "expected to match: /$2/"
	fi
}

unlike() {
	if printf '%s\n' "$1" | grep -E -- "$2" >/dev/null; then
		not_ok "$3" "     got: '$1'" "expected not to match: /$2/"
	else
		ok "$3"
	fi
}

contains() {
	case $1 in
	*"$2"*) ok "$3" ;;
	*) not_ok "$3" "     got: '$1'" "expected to contain: '$2'" ;;
	esac
}

# Functions (as_user, ...) run as they are and bring their own timeout;
# commands get one here so that a hung test cannot hang the suite.
run_cmd() {
	local out err
	out=$(mktemp -p "${TAP_TMPDIR:-${TMPDIR:-/tmp}}") || bail_out "mktemp failed"
	err=$(mktemp -p "${TAP_TMPDIR:-${TMPDIR:-/tmp}}") || bail_out "mktemp failed"
	RUN_CMD=$(printf '%q ' "$@")
	RUN_CMD=${RUN_CMD% }
	if [ "$(type -t "$1")" = function ]; then
		"$@" >"$out" 2>"$err" </dev/null
	else
		timeout -k 5 "$TAP_TIMEOUT" "$@" >"$out" 2>"$err" </dev/null
	fi
	RUN_STATUS=$?
	RUN_OUT=$(cat "$out")
	RUN_ERR=$(cat "$err")
	rm -f "$out" "$err"
	[ "$RUN_STATUS" != 124 ] || diag "timed out after ${TAP_TIMEOUT}s: $RUN_CMD"
	return 0
}

# Forget the last command, so that later failures do not show stale output.
run_forget() {
	RUN_OUT='' RUN_ERR='' RUN_STATUS='' RUN_CMD=''
}

done_testing() {
	printf '1..%d\n' "$TAP_N"
	if [ "$TAP_FAILED" -gt 0 ]; then
		diag "$TAP_FAILED of $TAP_N tests failed"
		return 1
	fi
	return 0
}

