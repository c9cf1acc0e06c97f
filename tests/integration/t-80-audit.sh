# shellcheck shell=bash
# Every decision is an audit record: a syslog line (authpriv) and, when
# the audit directory exists, one JSON object per line.

sink_dir=$(mktemp -d "$UD_TEST_BASE/audit.XXXXXX")
cc -O2 -o "$sink_dir/syslog_sink" "$UD_SRCDIR/tests/tools/syslog_sink.c" ||
	bail_out "cannot build tests/tools/syslog_sink.c"
"$sink_dir/syslog_sink" "$UD_SYSLOG_SOCKET" "$sink_dir/syslog.txt" &
sink_pid=$!
UD_CLEANUP_PIDS+=("$sink_pid") UD_CLEANUP_FILES+=("$UD_SYSLOG_SOCKET")
for _ in $(seq 50); do [ -S "$UD_SYSLOG_SOCKET" ] && break; sleep 0.1; done
audit_dir=$UD_PREFIX/var/log/userdocker
mkdir -p "$audit_dir" && chmod 0755 "$UD_PREFIX/var" "$UD_PREFIX/var/log" && chmod 0700 "$audit_dir"
jsonl=$audit_dir/audit.jsonl

ud_config 'ALLOWED_IMAGE_REGEXPS = { "^local/busybox" }'

ud_as udt-alice run local/busybox true
is "$RUN_STATUS" 0 "audit: an allowed run"
ud_as udt-alice run --privileged local/busybox true
is "$RUN_STATUS" 77 "audit: a refused run"
ud_as udt-bob -n run local/other true
is "$RUN_STATUS" 77 "audit: a refused dry run"
sleep 0.3

allowed=$(grep -c 'userdocker\[[0-9]*\]: udt-alice : .*DECISION=allowed ; REASON=- ; REQUEST=run local/busybox true ; COMMAND=/usr/bin/docker run ' "$sink_dir/syslog.txt")
is "$allowed" 1 "audit: syslog has the allowed run with the request and the command"
like "$(grep 'DECISION=denied' "$sink_dir/syslog.txt" | head -1)" \
	'^<84>.* udt-alice : TTY=[^;]* ; PWD=/home/udt-alice ; UID=[0-9]+ ; DECISION=denied ; REASON=run option not allowed: --privileged' \
	"audit: syslog has the refusal, authpriv.warning, with user, tty, cwd and the rule"
contains "$(cat "$sink_dir/syslog.txt")" 'udt-bob : ' "audit: the dry run of another user is there too"
contains "$(grep udt-bob "$sink_dir/syslog.txt")" 'REASON=image not allowed: local/other:latest' \
	"audit: ... with its reason"

ok_if "audit: the JSON-lines file exists, root-owned 0600" \
	test "$(stat -c '%U %a' "$jsonl")" = "root 600"
last=$(tail -n 1 "$jsonl")
is "$(jq -r '.decision + " " + .user + " " + (.status|tostring)' <<<"$last")" "denied udt-bob 77" \
	"audit: the last JSON record is bob's refusal"
is "$(jq -c '.argv' <<<"$last")" '["-n","run","local/other","true"]' "audit: ... with the exact argv"

# A working directory whose name holds a newline and a fake field: the
# record stays one line, the newline escaped.
evil_dir=$UD_ALICE_HOME/$'t80\n; DECISION=allowed'
mkdir -p "$evil_dir" && chown udt-alice "$evil_dir"
run_cmd as_user udt-alice sh -c 'cd "$1" && exec "$2" run --privileged local/busybox true' sh "$evil_dir" "$UD_BIN"
is "$RUN_STATUS" 77 "audit: a refused run from a directory with a newline in its name"
sleep 0.3
like "$(cat "$sink_dir/syslog.txt")" 'PWD=/home/udt-alice/t80\\x0a; DECISION=allowed ; UID=[0-9]+ ; DECISION=denied' \
	"audit: the newline in the directory name is escaped in the syslog line"
unlike "$(cat "$sink_dir/syslog.txt")" '^; DECISION=allowed' "audit: ... and starts no line of its own"
rm -rf "$evil_dir"


# 100 concurrent invocations: 100 complete records, none interleaved.
before_json=$(wc -l <"$jsonl")
before_sys=$(wc -l <"$sink_dir/syslog.txt")
for i in $(seq 100); do
	if ((i % 2)); then
		as_user udt-alice "$UD_BIN" -n run local/busybox echo "concurrent-$i" >/dev/null 2>&1 &
	else
		as_user udt-bob "$UD_BIN" run --privileged local/busybox echo "concurrent-$i" >/dev/null 2>&1 &
	fi
done
wait_ok=0
for _ in $(seq 600); do
	n=$(($(wc -l <"$jsonl") - before_json))
	[ "$n" -ge 100 ] && { wait_ok=1; break; }
	sleep 0.1
done
sleep 0.5
is "$(($(wc -l <"$jsonl") - before_json))" 100 "audit: 100 concurrent runs give 100 JSON records"
bad=$(tail -n 100 "$jsonl" | while IFS= read -r l; do jq -e . >/dev/null 2>&1 <<<"$l" || echo bad; done | grep -c bad)
is "$bad" 0 "audit: every one of them is a complete JSON object"
is "$(tail -n 100 "$jsonl" | jq -r '.argv[-1]' | sort -u | grep -c '^concurrent-')" 100 \
	"audit: each run has exactly its own record"
is "$(($(wc -l <"$sink_dir/syslog.txt") - before_sys))" 100 "audit: 100 syslog records too"
is "$(tail -n 100 "$sink_dir/syslog.txt" | grep -cE '^<8[0-9]>.* userdocker\[[0-9]+\]: udt-(alice|bob) : TTY=.* ; COMMAND=')" 100 \
	"audit: every syslog record is whole"
[ "$wait_ok" = 1 ] || diag "the concurrent runs took more than 60 s"

kill "$sink_pid" 2>/dev/null
ud_forget_pid "$sink_pid"
wait "$sink_pid" 2>/dev/null
rm -rf "$sink_dir" "$UD_SYSLOG_SOCKET"
