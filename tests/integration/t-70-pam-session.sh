# shellcheck shell=bash disable=SC2086 # $UD_DOCKER is a command line
# t-70-pam-session.sh - the PAM session module pam_userdocker.so in a real
# PAM stack (/etc/pam.d/udt-session-test), driven by pamtester and by
# tests/tools/pam_session_driver.c (one handle, a command inside the
# session, the PAM environment): closing alice's session removes exactly
# her containers; session_only only those of that session; grace defers the
# cleanup without holding the caller; last_session keeps them while she
# has a process outside the session; bad options fail, a dead daemon does
# not.  Containers are made as userdocker labels them (as root, with the
# owner labels).
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).

T70_SVC=udt-session-test
T70_MOD=$UD_PREFIX/lib/security/pam_userdocker.so
T70=$(mktemp -d "$UD_TEST_BASE/pam-session.XXXXXX") || bail_out "mktemp failed"
T70_IDS=()     # every container made here, removed at the end
T70_PIDS=()    # background processes of alice started here
T70_LOG=''     # the syslog sink's file, when we run one on /dev/log
T70_SINK_PID=''

ok_if "pam-session: the module is installed in LIBDIR/security" test -f "$T70_MOD"
is "$(nm -D --defined-only "$T70_MOD" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')" \
	"pam_sm_close_session pam_sm_open_session " "pam-session: it exports the PAM session entry points only"

cc -O2 -Wall -o "$T70/driver" "$UD_SRCDIR/tests/tools/pam_session_driver.c" -lpam 2>"$T70/cc.log" ||
	bail_out "cannot build tests/tools/pam_session_driver.c: $(cat "$T70/cc.log")"
T70_DRV=$T70/driver
command -v pamtester >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y pamtester >/dev/null 2>&1 ||
	bail_out "pamtester is not installed (apt-get install pamtester)"

# A bare machine has no syslog daemon: listen on /dev/log ourselves, so
# that the module's log lines can be checked.  Never over a real one.
if [ ! -e /dev/log ] && [ -f "$UD_SRCDIR/tests/tools/syslog_sink.c" ] &&
	cc -O2 -o "$T70/syslog_sink" "$UD_SRCDIR/tests/tools/syslog_sink.c" 2>>"$T70/cc.log"; then
	: >"$T70/syslog.txt"
	(ud_close_fds; exec "$T70/syslog_sink" /dev/log "$T70/syslog.txt") &
	T70_SINK_PID=$!
	UD_CLEANUP_PIDS+=("$T70_SINK_PID") UD_CLEANUP_FILES+=(/dev/log)
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
	[ -S /dev/log ] && T70_LOG=$T70/syslog.txt
fi

t70_service() {
	_ud_write_root_file "/etc/pam.d/$T70_SVC" "# written by tests/integration/t-70-pam-session.sh
session required $T70_MOD socket=$UD_SOCK $*"
}

# USER [docker run options...]: a detached container labelled as userdocker
# labels USER's; prints its id.  Its shell ends on SIGTERM, as a real
# program would, so that docker stop does not wait for the kill.
t70_container() {
	local user=$1 id
	shift
	id=$($UD_DOCKER run -d --label "userdocker.owner.uid=$(id -u "$user")" \
		--label "userdocker.owner.name=$user" "$@" local/busybox \
		sh -c 'trap "exit 0" TERM; sleep 600 & wait') || return 1
	T70_IDS+=("$id")
	printf '%s\n' "$id"
}

# "present" or "gone" for each ID, on one line.
t70_state() {
	local id out=''
	for id in "$@"; do
		if $UD_DOCKER inspect --format x "$id" >/dev/null 2>&1; then
			out+="present "
		else
			out+="gone "
		fi
	done
	printf '%s\n' "${out% }"
}

# Wait up to SECS for every ID to be gone; prints the seconds waited.
t70_wait_gone() {
	local secs=$1 t0 i
	shift
	t0=$(date +%s.%N)
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(t70_state "$@")" = "$(printf 'gone %.0s' "$@" | sed 's/ $//')" ] && break
		sleep 0.1
	done
	awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f\n", a - b }'
}

# True when the arithmetic comparison EXPR holds (awk: no bc needed).
t70_calc() {
	awk "BEGIN { exit !($1) }"
}

# Lines of the syslog sink matching ERE (empty without a sink).
t70_log() {
	[ -n "$T70_LOG" ] || return 0
	sleep 0.2
	grep -E -- "$1" "$T70_LOG"
}

t70_log_like() {
	local re=$1 name=$2
	if [ -z "$T70_LOG" ]; then
		skip "no syslog sink on /dev/log (a syslog daemon runs here)" "$name"
	else
		like "$(t70_log "$re")" "$re" "$name"
	fi
}

# A process of alice outside any PAM session of ours; prints its pid once
# it runs as alice.
t70_alice_sleeps() {
	local pid i
	as_user udt-alice sleep 600 >/dev/null 2>&1 &
	pid=$!
	T70_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		pgrep -u "$UD_ALICE_UID" -P "$pid" >/dev/null && break
		sleep 0.1
	done
	printf '%s\n' "$pid"
}

# The sleeper is a child of the as_user wrapper: stop both.
t70_stop_pid() {
	pkill -TERM -P "$1" 2>/dev/null
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# --- every container of the user ----------------------------------------------

t70_service ''
a1=$(t70_container udt-alice --name t70-alice-1)
a2=$(t70_container udt-alice)
a_rm=$(t70_container udt-alice --rm)
a_created=$($UD_DOCKER create --label "userdocker.owner.uid=$UD_ALICE_UID" \
	--label userdocker.owner.name=udt-alice local/busybox true)
T70_IDS+=("$a_created")
b1=$(t70_container udt-bob)
# Not alice's: bob's uid under alice's name, a uid that only starts with
# hers, no labels at all, and the reference tool's env mark.
b_named_alice=$($UD_DOCKER run -d --label "userdocker.owner.uid=$UD_BOB_UID" \
	--label userdocker.owner.name=udt-alice local/busybox sleep 600)
u_prefix=$($UD_DOCKER run -d --label "userdocker.owner.uid=${UD_ALICE_UID}0" local/busybox sleep 600)
u_none=$($UD_DOCKER run -d local/busybox sleep 600)
u_legacy=$($UD_DOCKER run -d -e "USERDOCKER_UID=$UD_ALICE_UID" local/busybox sleep 600)
T70_IDS+=("$b_named_alice" "$u_prefix" "$u_none" "$u_legacy")
is "$(t70_state "$a1" "$a2" "$a_rm" "$a_created" "$b1")" "present present present present present" \
	"pam-session: alice's and bob's containers are there"

run_cmd pamtester "$T70_SVC" udt-alice open_session close_session
is "$RUN_STATUS" 0 "pam-session: pamtester opens and closes alice's session"
like "$RUN_OUT" 'session has successfully been closed' "pam-session: ... the close succeeded"
is "$(t70_state "$a1" "$a2" "$a_rm" "$a_created")" "gone gone gone gone" \
	"pam-session: every container of alice is gone: running, --rm, never started"
is "$(t70_state "$b1" "$b_named_alice")" "present present" \
	"pam-session: bob's containers are untouched, even one that names alice"
is "$(t70_state "$u_prefix" "$u_none" "$u_legacy")" "present present present" \
	"pam-session: a uid that only starts with alice's, unlabelled and env-marked containers are untouched"
is "$($UD_DOCKER inspect -f '{{.State.Running}}' "$b1")" true "pam-session: bob's container still runs"
t70_log_like "^<85>.*pam_userdocker\\($T70_SVC:session\\): removed container ${a1:0:12} \\(t70-alice-1\\) of udt-alice \\(uid $UD_ALICE_UID\\)\$" \
	"pam-session: each removal is logged, authpriv.notice, with id, name, user and uid"
is "$(t70_log "removed container" | wc -l)" "$([ -n "$T70_LOG" ] && echo 4 || echo 0)" \
	"pam-session: four removals logged, nothing about the others"

run_cmd pamtester "$T70_SVC" udt-bob open_session close_session
is "$(t70_state "$b1" "$b_named_alice")" "gone gone" "pam-session: closing bob's session removes his"
is "$(t70_state "$u_prefix" "$u_none" "$u_legacy")" "present present present" \
	"pam-session: ... and still nothing else"

# --- record and session_only -------------------------------------------------------

t70_service 'record session_only debug'
a_old=$(t70_container udt-alice)
a_other=$(t70_container udt-alice --label userdocker.session=0123456789abcdef0123456789abcdef)
export -f t70_container
# Inside the session, as userdocker would: label with the id it was given.
# shellcheck disable=SC2016 # expanded by the inner bash
run_cmd "$T70_DRV" "$T70_SVC" udt-alice bash -c '
	T70_IDS=()
	printf "%s\n" "${USERDOCKER_SESSION-unset}" >"$1/env-sid"
	for n in 1 2; do
		t70_container udt-alice --label "userdocker.session=$USERDOCKER_SESSION" >>"$1/ids-alice"
	done
	t70_container udt-bob --label "userdocker.session=$USERDOCKER_SESSION" >>"$1/ids-bob"
' t70 "$T70"
is "$RUN_STATUS" 0 "pam-session: record + session_only: open and close succeed"
sid=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^USERDOCKER_SESSION=//p')
like "$sid" '^[0-9a-f]{32}$' "pam-session: record sets USERDOCKER_SESSION to 32 hex digits"
is "$(cat "$T70/env-sid")" "$sid" "pam-session: the session's processes get it in their environment"
mapfile -t s_alice <"$T70/ids-alice"
mapfile -t s_bob <"$T70/ids-bob"
T70_IDS+=("${s_alice[@]}" "${s_bob[@]}")
is "${#s_alice[@]} ${#s_bob[@]}" "2 1" "pam-session: containers were made inside the session"
is "$(t70_state "${s_alice[@]}")" "gone gone" "pam-session: session_only removes alice's containers of the session"
is "$(t70_state "$a_old" "$a_other")" "present present" \
	"pam-session: ... not her unlabelled one, nor one of another session"
is "$(t70_state "${s_bob[@]}")" "present" \
	"pam-session: ... nor bob's that carries her session's id"
t70_log_like "session $sid recorded" "pam-session: debug logs the recorded session"
t70_log_like "removed container ${s_alice[0]:0:12} .* of udt-alice \\(uid $UD_ALICE_UID\\) session $sid\$" \
	"pam-session: the removal log names the session"

# The real thing: userdocker, run by alice inside a recorded session,
# labels her container with the session's id; a malformed id is not used.
ud_config 'ARGS_ALWAYS.run = {}
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-d", "--detach" }'
# shellcheck disable=SC2016 # expanded by the inner bash
run_cmd "$T70_DRV" "$T70_SVC" udt-alice bash -c '
	id=$(setpriv --reuid="$2" --regid="$3" --init-groups "$4" -q run -d local/busybox sleep 600 2>"$1/ud-err") || exit 1
	printf "%s\n" "$id" >"$1/ud-id"
	$5 inspect -f "{{index .Config.Labels \"userdocker.session\"}}" "$id" >"$1/ud-label"
	id=$(USERDOCKER_SESSION=NOT-A-SESSION-ID setpriv --reuid="$2" --regid="$3" --init-groups \
		"$4" -q run -d local/busybox sleep 600) || exit 1
	printf "%s\n" "$id" >"$1/ud-id2"
	$5 inspect -f "{{index .Config.Labels \"userdocker.session\"}}" "$id" >"$1/ud-label2"
' t70 "$T70" "$UD_ALICE_UID" "$UD_ALICE_GID" "$UD_BIN" "$UD_DOCKER"
sid3=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^USERDOCKER_SESSION=//p')
T70_IDS+=("$(cat "$T70/ud-id" 2>/dev/null)" "$(cat "$T70/ud-id2" 2>/dev/null)")
like "$(cat "$T70/ud-id" 2>/dev/null)" '^[0-9a-f]{64}$' \
	"pam-session: userdocker run inside a recorded session starts a container"
is "$(cat "$T70/ud-label" 2>/dev/null)" "$sid3" \
	"pam-session: userdocker labels the container userdocker.session=<the session's id>"
is "$(cat "$T70/ud-label2" 2>/dev/null)" "" \
	"pam-session: a malformed USERDOCKER_SESSION is not used as a label"
is "$(t70_state "$(cat "$T70/ud-id" 2>/dev/null)")" "gone" \
	"pam-session: session_only removes the container userdocker made in the session"
is "$(t70_state "$(cat "$T70/ud-id2" 2>/dev/null)" "$a_old")" "present present" \
	"pam-session: ... and not alice's others"

run_cmd "$T70_DRV" "$T70_SVC" udt-alice
sid2=$(printf '%s\n' "$RUN_OUT" | sed -n 's/^USERDOCKER_SESSION=//p')
like "$sid2" '^[0-9a-f]{32}$' "pam-session: a second session gets an id"
isnt "$sid2" "$sid" "pam-session: ... a different one"

t70_service 'session_only'
run_cmd pamtester "$T70_SVC" udt-alice open_session close_session
is "$RUN_STATUS" 0 "pam-session: session_only without record: the close still succeeds"
is "$(t70_state "$a_old" "$a_other")" "present present" "pam-session: ... and removes nothing"
t70_log_like "session_only: no session id for this session of udt-alice" \
	"pam-session: ... and says why in the log"

# --- grace -----------------------------------------------------------------------

$UD_DOCKER rm -f "${s_bob[@]}" >/dev/null
t70_service 'grace=4'
g_alice=$(t70_container udt-alice)
g_bob=$(t70_container udt-bob)
t0=$(date +%s.%N)
# A command substitution waits for every writer of its pipe: a cleanup
# process that kept the caller's stdout would hold it for the grace period.
out=$(timeout 60 "$T70_DRV" "$T70_SVC" udt-alice 2>&1)
rc=$?
elapsed=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f\n", a - b }')
is "$rc" 0 "pam-session: grace: the close succeeds"
contains "$out" "close: Success" "pam-session: grace: pam_close_session returned PAM_SUCCESS"
ok_if "pam-session: grace: the caller is not held up, nor its stdout (${elapsed}s)" \
	t70_calc "$elapsed < 2"
is "$(t70_state "$g_alice" "$a_old")" "present present" "pam-session: grace: right after the close her containers are still there"
waited=$(t70_wait_gone 30 "$g_alice" "$a_old" "$a_other")
is "$(t70_state "$g_alice" "$a_old" "$a_other")" "gone gone gone" "pam-session: grace: after the grace period they are gone"
ok_if "pam-session: grace: ... not before it (gone ${waited}s after the close returned, grace 4s)" \
	t70_calc "$waited + $elapsed >= 3.5"
is "$(t70_state "$g_bob")" "present" "pam-session: grace: bob's container is untouched"

# --- last_session ---------------------------------------------------------------

t70_service 'last_session debug'
l1=$(t70_container udt-alice)
sleeper=$(t70_alice_sleeps)
run_cmd "$T70_DRV" "$T70_SVC" udt-alice
is "$RUN_STATUS" 0 "pam-session: last_session: the close succeeds while alice has another process"
is "$(t70_state "$l1")" "present" "pam-session: last_session: her container is kept"
t70_log_like "udt-alice still has processes \\(pid [0-9]+\\): containers kept" \
	"pam-session: last_session: debug logs which process keeps them"

run_cmd "$T70_DRV" -b "$T70_SVC" udt-alice setpriv --reuid="$UD_ALICE_UID" --regid="$UD_ALICE_GID" \
	--init-groups sleep 600
is "$(t70_state "$l1")" "present" "pam-session: last_session: still kept with a process inside the session too"

t70_stop_pid "$sleeper"
ok_if "pam-session: last_session: alice's other process has ended" \
	test -z "$(pgrep -u "$UD_ALICE_UID")"
run_cmd "$T70_DRV" -b "$T70_SVC" udt-alice setpriv --reuid="$UD_ALICE_UID" --regid="$UD_ALICE_GID" \
	--init-groups sleep 600
is "$RUN_STATUS" 0 "pam-session: last_session: a close with alice's process inside the closing session"
contains "$RUN_OUT" "close: Success" "pam-session: last_session: ... succeeds"
is "$(t70_state "$l1")" "gone" \
	"pam-session: last_session: processes of the closing session's own tree do not count"
is "$(t70_state "$g_bob")" "present" "pam-session: last_session: bob's container is untouched"

# last_session is checked after the grace period, not before.
t70_service 'last_session grace=2 debug'
l2=$(t70_container udt-alice)
sleeper=$(t70_alice_sleeps)
run_cmd "$T70_DRV" "$T70_SVC" udt-alice
t70_stop_pid "$sleeper"
t70_wait_gone 20 "$l2" >/dev/null
is "$(t70_state "$l2")" "gone" \
	"pam-session: last_session + grace: her process ended during the grace period: removed"

l3=$(t70_container udt-alice)
sleeper=$(t70_alice_sleeps)
kept_before=$(t70_log 'still has processes' | wc -l)
run_cmd "$T70_DRV" "$T70_SVC" udt-alice
if [ -n "$T70_LOG" ]; then
	for _ in $(seq 100); do
		[ "$(t70_log 'still has processes' | wc -l)" -gt "$kept_before" ] && break
		sleep 0.1
	done
else
	sleep 5
fi
is "$(t70_state "$l3")" "present" \
	"pam-session: last_session + grace: her process still runs after the grace period: kept"
t70_stop_pid "$sleeper"

# --- bad options, no daemon -------------------------------------------------------

for opts in bogus grace= grace=-1 grace=86401 grace=1x socket=relative/docker.sock \
	"socket=/$(printf 'x%.0s' $(seq 120))" session-only; do
	t70_service "$opts"
	run_cmd "$T70_DRV" "$T70_SVC" udt-alice
	is "$RUN_STATUS:$(printf '%s\n' "$RUN_OUT" | head -n 1)" "1:open: Error in service module" \
		"pam-session: a bad option is a configuration error (PAM_SERVICE_ERR): ${opts:0:24}"
done
is "$(t70_state "$l3")" "present" "pam-session: ... and nothing was removed"
t70_log_like "unknown option: bogus" "pam-session: the bad option is logged"

t70_service 'socket=/nonexistent/docker.sock'
run_cmd pamtester "$T70_SVC" udt-alice open_session close_session
is "$RUN_STATUS" 0 "pam-session: with the daemon unreachable the session still closes"
is "$(t70_state "$l3")" "present" "pam-session: ... and nothing happens"
t70_log_like "^<83>.*cannot clean up the containers of udt-alice: docker daemon socket /nonexistent/docker.sock" \
	"pam-session: ... and the error is logged (authpriv.err)"

# --- cleanup ---------------------------------------------------------------------

for pid in "${T70_PIDS[@]}"; do
	t70_stop_pid "$pid"
done
$UD_DOCKER rm -f "${T70_IDS[@]}" >/dev/null 2>&1
rm -f "/etc/pam.d/$T70_SVC"
if [ -n "$T70_SINK_PID" ]; then
	kill "$T70_SINK_PID" 2>/dev/null
	wait "$T70_SINK_PID" 2>/dev/null
	ud_forget_pid "$T70_SINK_PID"
	[ -S /dev/log ] && rm -f /dev/log
fi
rm -rf "$T70"
unset -f t70_container
