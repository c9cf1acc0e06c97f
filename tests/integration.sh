#!/bin/bash
# tests/integration.sh - integration tests of the installed setuid binary,
# run as real unprivileged users against a private docker daemon. TAP.
#
#   tests/integration.sh [PATTERN...]
#
# Runs every tests/integration/t-*.sh in order, or only those whose file
# name contains one of the PATTERNs (e.g. "t-10"). Needs root; without it
# prints a TAP SKIP plan and exits 77, automake's SKIP status for plain
# tests, or 0 under make check (automake exports srcdir), whose tap-driver
# reads the SKIP from the plan and counts any other exit status as an error.
# UD_SKIP_STATUS overrides either.
#
# Steps: build and install into a fresh root-owned prefix, start dockerd
# with its own state and socket, create udt-alice and udt-bob, then source
# each test file after reset_config. Whatever happens (failure, ctrl-c,
# kill), the EXIT trap stops the daemon and removes the users and the prefix.
#
# Helpers for the test files, besides tests/lib/{tap,users,install}.sh:
#   ud_as USER ARGS...             run_cmd "$UD_BIN" ARGS... as USER
#   ud_as_env USER VAR=v.. -- ARGS...   the same with extra environment
#   ud_mark                         remember "now" and the container count
#   ud_created                      ids of containers created since ud_mark
#   ud_nothing_created NAME         assert: none created, none left over
#   ud_refused NAME STATUS ERE USER ARGS...
#                                   STATUS (an ERE, e.g. '64|77') and a
#                                   one-line stderr matching ERE, nothing on
#                                   stdout, no container created
#   ud_inspect FORMAT ID            docker inspect --format FORMAT ID

set -u -o pipefail
umask 022

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (runs a docker daemon and creates users)"
	if [ -n "${srcdir+set}" ]; then
		exit "${UD_SKIP_STATUS:-0}"
	fi
	exit "${UD_SKIP_STATUS:-77}"
fi

# One run at a time per machine: runs share the udt-* users. The daemons
# and test users do not inherit the lock's fd (ud_close_fds).
UD_LOCK=${UD_LOCK:-/run/userdocker-integration.lock}
exec {UD_LOCK_FD}>>"$UD_LOCK" || exit 1
if ! flock -n "$UD_LOCK_FD"; then
	echo "# waiting for another integration run to finish ($UD_LOCK)"
	flock -w "${UD_LOCK_WAIT:-1800}" "$UD_LOCK_FD" || {
		echo "Bail out! another integration run holds $UD_LOCK"
		exit 1
	}
fi

UD_TESTS_DIR=$(cd "$(dirname "$0")" && pwd) || exit 1
UD_SRCDIR=${UD_SRCDIR:-$(cd "$UD_TESTS_DIR/.." && pwd)}
export UD_SRCDIR UD_TESTS_DIR

. "$UD_TESTS_DIR/lib/tap.sh"
. "$UD_TESTS_DIR/lib/users.sh"
. "$UD_TESTS_DIR/lib/daemon.sh"
. "$UD_TESTS_DIR/lib/install.sh"

# A signal's trap may run inside run_cmd, whose stdout is a file: the TAP
# stream keeps its own fd.
exec {UD_TAP_FD}>&1
TAP_TMPDIR=$(mktemp -d) || exit 1
_ud_cleaned=''
# Background helpers of the test files (syslog sinks) and the sockets they
# bound: ended and removed whatever ends the run.
UD_CLEANUP_PIDS=() UD_CLEANUP_FILES=()
# ud_forget_pid PID: it was ended normally (its number may be reused).
ud_forget_pid() {
	local p keep=()
	for p in "${UD_CLEANUP_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	UD_CLEANUP_PIDS=("${keep[@]}")
}
ud_cleanup() {
	local pid
	[ -z "$_ud_cleaned" ] || return 0
	_ud_cleaned=1
	trap '' INT TERM HUP
	for pid in "${UD_CLEANUP_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	[ ${#UD_CLEANUP_FILES[@]} -eq 0 ] || rm -f "${UD_CLEANUP_FILES[@]}"
	ud_daemon_stop
	ud_users_remove
	ud_install_cleanup
	rm -rf "$TAP_TMPDIR"
}
trap 'ud_cleanup' EXIT
trap 'echo "Bail out! interrupted" >&$UD_TAP_FD; exit 130' INT
trap 'echo "Bail out! terminated" >&$UD_TAP_FD; exit 143' TERM
trap 'echo "Bail out! hangup" >&$UD_TAP_FD; exit 129' HUP

ud_as() {
	local user=$1
	shift
	run_cmd as_user "$user" "$UD_BIN" "$@"
}

ud_as_env() {
	local user=$1
	shift
	local -a env=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	[ "${1-}" = -- ] && shift
	run_cmd as_user_env "$user" "${env[@]}" -- "$UD_BIN" "$@"
}

ud_inspect() {
	$UD_DOCKER inspect --format "$1" "$2" 2>&1
}

ud_count() {
	$UD_DOCKER ps -aq | wc -l
}

UD_MARK_TIME='' UD_MARK_COUNT=''
ud_mark() {
	UD_MARK_COUNT=$(ud_count)
	UD_MARK_TIME=$(date +%s.%N)
}

# Container create events since ud_mark: catches containers that ran and
# were removed again (--rm), which a count would miss.
ud_created() {
	$UD_DOCKER events --since "$UD_MARK_TIME" --until "$(date +%s.%N)" \
		--filter type=container --filter event=create --format '{{.ID}}'
}

ud_nothing_created() {
	local created count
	created=$(ud_created)
	count=$(ud_count)
	if [ -z "$created" ] && [ "$count" = "$UD_MARK_COUNT" ]; then
		ok "$1"
	else
		not_ok "$1" "containers before: $UD_MARK_COUNT, after: $count" \
			"created: ${created:-none}"
	fi
}

ud_refused() {
	local name=$1 status=$2 re=$3 user=$4
	shift 4
	ud_mark
	ud_as "$user" "$@"
	like "$RUN_STATUS" "^($status)\$" "$name: exit status $status"
	like "$RUN_ERR" "$re" "$name: message"
	is "$(printf '%s\n' "$RUN_ERR" | grep -c .)" 1 "$name: one line on stderr"
	is "$RUN_OUT" "" "$name: nothing on stdout"
	ud_nothing_created "$name: no container created"
	run_forget
}

ud_selected() {
	local f=$1 p
	[ $# -gt 1 ] || return 0
	shift
	for p in "$@"; do
		case ${f##*/} in *"$p"*) return 0 ;; esac
	done
	return 1
}

ud_install || bail_out "cannot build and install userdocker from $UD_SRCDIR"
diag "installed in $UD_PREFIX in ${UD_INSTALL_SECONDS}s"
ud_daemon_start || bail_out "cannot start the test docker daemon"
diag "dockerd on $UD_SOCK, ready with images in ${UD_DAEMON_START_SECONDS}s"
ud_users_create || bail_out "cannot create the test users"
reset_config || bail_out "cannot write $UD_CONFIG"

# The harness's own preconditions: without them no later result means much.
is "$(stat -c '%U %a' "$UD_BIN")" "root 4755" "installed binary is setuid root, mode 4755"
run_cmd as_user udt-alice /usr/bin/docker -H "unix://$UD_SOCK" ps
isnt "$RUN_STATUS" 0 "udt-alice cannot use the test daemon's socket directly"
run_forget
like "$($UD_DOCKER images --format '{{.Repository}}:{{.Tag}}')" '^local/busybox:latest$' \
	"test image local/busybox:latest is present"

for f in "$UD_TESTS_DIR"/integration/t-*.sh; do
	[ -f "$f" ] || continue
	ud_selected "$f" "$@" || continue
	diag "--- ${f##*/}"
	reset_config || bail_out "cannot reset $UD_CONFIG"
	run_forget
	# shellcheck source=/dev/null
	. "$f"
done

done_testing
