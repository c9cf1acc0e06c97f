# t-20-hardening.sh - the setuid process itself: how it is started (argc,
# descriptors, environment, resource limits), what the caller can do to it
# while it runs (signals), and the limits of the policy child (errors,
# endless loops, memory, pathological regular expressions).
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).
#
# Every case checks its outcome (status and message), that no container was
# created where the run must fail, and that no userdocker process (the root
# parent or the policy child) is left behind.

A=udt-alice
A_UID=$UD_ALICE_UID A_GID=$UD_ALICE_GID A_HOME=$UD_ALICE_HOME

# Everything this file makes lives under the prefix, which the harness
# removes whatever happens.  $T20 and its tools: root-owned, readable by
# the test users.  $T20_MARKS: where hostile programs leave a trace if they
# ever run (1777: they may run as root or as alice).  $T20_ROOT: root only.
T20=$UD_PREFIX/t20
rm -rf "$T20"
mkdir -p "$T20" "$T20/marks" "$T20/root" "$T20/bin" && chmod 0755 "$T20" "$T20/bin" &&
	chmod 1777 "$T20/marks" && chmod 0700 "$T20/root" ||
	bail_out "cannot create $T20"
T20_MARKS=$T20/marks
T20_ROOT=$T20/root

# The user's hostile files, in alice's home (she owns them, as she would).
T20_EVIL=$A_HOME/t20-evil
EVIL_CFG=$T20_EVIL/docker-config
EVIL_BIN=$T20_EVIL/bin

# A userdocker process (root parent or policy child) still alive.
t20_leftovers() {
	pgrep -u 0 -f "^$UD_BIN( |\$)"
	pgrep -u "$A" -f "^$UD_BIN( |\$)"
}

t20_no_leftover() {
	local left
	left=$(t20_leftovers)
	if [ -z "$left" ]; then
		ok "$1: no userdocker process left behind"
	else
		not_ok "$1: no userdocker process left behind" "still running:" \
			"$(ps -o pid,ruid,euid,stat,args -p "$(echo $left | tr ' ' ,)" 2>&1)"
	fi
}

# Lines of text (0 for empty).
t20_lines() {
	printf '%s' "$1" | grep -c .
}

# Seconds since T0 (date +%s.%N), one decimal.
t20_since() {
	awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

# t20_le A B: A <= B, as decimals.
t20_le() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

# Trace files left by hostile programs, then clear them.
t20_marks() {
	ls -A "$T20_MARKS"
}

t20_no_marks() {
	local m
	m=$(t20_marks)
	if [ -z "$m" ]; then
		ok "$1"
	else
		not_ok "$1" "hostile programs ran: $(echo $m)"
	fi
	rm -f "$T20_MARKS"/*
}

# A run as alice in the background, output in files; the policy child is
# found with t20_child, the result collected with t20_bg_wait.
T20_BG_PID='' T20_BG_T0=''
t20_bg_start() {
	T20_BG_T0=$(date +%s.%N)
	RUN_CMD="(background) $UD_BIN $*"
	as_user $A "$UD_BIN" "$@" >"$T20/bg.out" 2>"$T20/bg.err" </dev/null &
	T20_BG_PID=$!
}

t20_bg_wait() {
	wait "$T20_BG_PID"
	RUN_STATUS=$?
	T20_BG_SECS=$(t20_since "$T20_BG_T0")
	RUN_OUT=$(cat "$T20/bg.out")
	RUN_ERR=$(cat "$T20/bg.err")
}

# The policy child of the background run: alice's process running the
# userdocker binary (the parent runs as root), polled for up to 5 s.
t20_child() {
	local i pid
	for ((i = 0; i < 250; i++)); do
		pid=$(pgrep -u "$A" -f "^$UD_BIN " | head -n 1)
		if [ -n "$pid" ]; then
			echo "$pid"
			return 0
		fi
		kill -0 "$T20_BG_PID" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# A failed run: STATUS (ERE), a one-line message matching ERE, nothing on
# stdout, no container, nobody left behind.  Uses the last run's RUN_*.
t20_failed() {
	local name=$1 status=$2 re=$3
	like "$RUN_STATUS" "^($status)\$" "$name: exit status $status"
	like "$RUN_ERR" "$re" "$name: message"
	is "$(t20_lines "$RUN_ERR")" 1 "$name: one line on stderr"
	is "$RUN_OUT" "" "$name: nothing on stdout"
	ud_nothing_created "$name: no container created"
	t20_no_leftover "$name"
}

# --- tools ----------------------------------------------------------------------

T20_CC=''
if command -v cc >/dev/null 2>&1 &&
	cc -O2 -Wall -o "$T20/bin/exec_argc0" "$UD_SRCDIR/tests/tools/exec_argc0.c" 2>"$T20/cc.log"; then
	T20_CC=cc
	EXEC=$T20/bin/exec_argc0
else
	diag "cannot compile tests/tools/exec_argc0.c: $(cat "$T20/cc.log" 2>/dev/null)"
fi

# --- argc == 0 ----------------------------------------------------------------------

if [ -n "$T20_CC" ]; then
	ud_mark
	run_cmd as_user $A "$EXEC" "$UD_BIN"
	# Linux >= 5.18 turns an empty argv into { "" }; older kernels pass
	# argc == 0.  Either way: a usage error, and argv[1] is never envp[0].
	is "$RUN_STATUS" 64 "argc == 0: exit status 64"
	like "$RUN_ERR" '^userdocker: .*(argv\[0\]|no subcommand)' "argc == 0: refused with a message"
	is "$RUN_OUT" "" "argc == 0: nothing on stdout"
	ud_nothing_created "argc == 0: no container created"
	t20_no_leftover "argc == 0"
	run_forget
else
	skip "no C compiler" "argc == 0"
fi

# --- standard descriptors closed ------------------------------------------------

if [ -n "$T20_CC" ]; then
	rm -f "$A_HOME/t20-fds"
	ud_mark
	run_cmd as_user $A "$EXEC" -c 0 -c 1 -c 2 -- "$UD_BIN" run local/busybox \
		sh -c 'id -u > "$HOME/t20-fds"'
	is "$RUN_STATUS" 0 "fds 0-2 closed: the run works (exit status 0)"
	is "$(cat "$A_HOME/t20-fds" 2>&1)" "$A_UID" "fds 0-2 closed: the container ran as alice and wrote its file"
	is "$(stat -c %u "$A_HOME/t20-fds" 2>&1)" "$A_UID" "fds 0-2 closed: the file is alice's on the host"
	is "$(created=$(ud_created); t20_lines "$created")" 1 "fds 0-2 closed: exactly one container"
	t20_no_leftover "fds 0-2 closed"
	rm -f "$A_HOME/t20-fds"

	# With stdin and stdout closed, a refusal still reaches stderr, alone.
	ud_mark
	run_cmd as_user $A "$EXEC" -c 0 -c 1 -- "$UD_BIN" run --privileged local/busybox id
	t20_failed "fds 0 and 1 closed, refused run" 77 '^userdocker: .*not allowed: .*--privileged'

	# With stdin and stderr closed, stdout carries the dry-run line and
	# nothing of ours lands in it.
	ud_mark
	run_cmd as_user $A "$EXEC" -c 0 -c 2 -- "$UD_BIN" -n run local/busybox id
	is "$RUN_STATUS" 0 "fds 0 and 2 closed, -n run: exit status 0"
	is "$(t20_lines "$RUN_OUT")" 1 "fds 0 and 2 closed, -n run: one line on stdout"
	like "$RUN_OUT" "^$UD_EXECUTOR run .* (-- )?local/busybox(:latest)? id\$" \
		"fds 0 and 2 closed, -n run: stdout is the docker command"
	ud_nothing_created "fds 0 and 2 closed, -n run: no container created"
	run_forget
fi

# --- inherited descriptors --------------------------------------------------------

# In the container: the descriptors of its first process (the shell,
# pid 1, which forks ls and cat; no pipeline, so it holds no pipe of its
# own meanwhile), and whether its descriptor 5 can be read.
FD_PROBE='ls -l /proc/1/fd; cat /proc/1/fd/5 2>/dev/null || echo no-fd-5'

# "N N N " from FD_PROBE's output ("lrwx... N -> TARGET" lines).
probe_fds() {
	printf '%s\n' "$1" | sed -n 's/^l.* \([0-9][0-9]*\) -> .*/\1/p' | sort -n | tr '\n' ' '
}

if [ -n "$T20_CC" ]; then
	run_cmd as_user $A sh -c 'echo alice-private-t20 > "$HOME/t20-own"'
	run_cmd as_user $A "$EXEC" -r "5=$A_HOME/t20-own" -- "$UD_BIN" run local/busybox sh -c "$FD_PROBE"
	is "$RUN_STATUS" 0 "fd 5 open to alice's own file: the run works"
	is "$(probe_fds "$RUN_OUT")" "0 1 2 " "fd 5 open to alice's file: the container has fds 0, 1, 2 only"
	unlike "$RUN_OUT" 't20-own|alice-private-t20' "fd 5 open to alice's file: not reachable in the container"
	like "$RUN_OUT" '^no-fd-5$' "fd 5 open to alice's file: the container's fd 5 cannot be read"
	t20_no_leftover "fd 5 open to alice's file"
	rm -f "$A_HOME/t20-own"
	run_forget
fi

# A descriptor root opened and the caller inherited (a root-only file):
# userdocker closes it before anything else runs.
# (The harness's own fd 5, if any, is put back afterwards.)
echo "root-secret-t20" >"$T20_ROOT/secret"
chmod 0600 "$T20_ROOT/secret"
t20_fd5=''
[ ! -e "/proc/$BASHPID/fd/5" ] || exec {t20_fd5}<&5
exec 5<"$T20_ROOT/secret"
UD_KEEP_FDS=5 ud_as $A run local/busybox sh -c "$FD_PROBE"
exec 5<&-
if [ -n "$t20_fd5" ]; then
	exec 5<&"$t20_fd5"
	exec {t20_fd5}<&-
fi
is "$RUN_STATUS" 0 "fd 5 open to a root-only file: the run works"
is "$(probe_fds "$RUN_OUT")" "0 1 2 " "fd 5 open to a root-only file: the container has fds 0, 1, 2 only"
unlike "$RUN_OUT" 'root-secret-t20|/secret' "fd 5 open to a root-only file: its content and path stay out of the container"
like "$RUN_OUT" '^no-fd-5$' "fd 5 open to a root-only file: the container's fd 5 cannot be read"
t20_no_leftover "fd 5 open to a root-only file"
run_forget

# --- the docker CLI's descriptors and environment, seen by a wrapper ----------

# An executor that records what it got (as root, in a root-only file),
# then runs the real docker.
WRAP=$T20/bin/docker-wrap
WRAP_LOG=$T20_ROOT/wrap.log
cat >"$WRAP" <<EOF
#!/bin/sh
ls -l /proc/self/fd >"$WRAP_LOG.fds" 2>&1
{
	echo "ids \$(id -u) \$(id -g)"
	echo "cwd \$(pwd)"
	env | sed 's/^/env /'
} >"$WRAP_LOG" 2>&1
exec $UD_EXECUTOR "\$@"
EOF
chmod 0755 "$WRAP"

# The executor's inherited descriptors, as "N N N ": ls's listing of its
# own, without the one ls opened to read the directory.
wrap_fds() {
	sed -n 's/^.* \([0-9][0-9]*\) -> \(.*\)$/\1 \2/p' "$WRAP_LOG.fds" 2>/dev/null |
		grep -Ev '^[0-9]+ /proc/[0-9]+/fd$' | cut -d' ' -f1 | sort -n | tr '\n' ' '
}

# The hostile environment for the docker CLI: a config dir (proxies,
# credential helpers, a plugin and an extra plugin dir, hooks, bad TLS
# files), a bin dir with a fake docker, ssh and credential helper.  Every program there
# leaves a mark named after itself and the uid it ran as.
run_cmd as_user $A sh -c "mkdir -p '$EVIL_CFG/cli-plugins' '$EVIL_CFG/contexts' '$EVIL_BIN' && chmod -R a+rX '$T20_EVIL'"
cat >"$T20/config.json" <<EOF
{
	"proxies": { "default": { "httpProxy": "http://user:pw@proxy.invalid:3128",
		"httpsProxy": "http://user:pw@proxy.invalid:3128", "noProxy": "evil.invalid" } },
	"credsStore": "x",
	"credHelpers": { "localhost:1": "x" },
	"cliPluginsExtraDirs": [ "$EVIL_CFG/cli-plugins" ],
	"features": { "hooks": "true" },
	"plugins": { "evil": { "hooks": "run,ps,version,pull,images,load" } }
}
EOF
printf '#!/bin/sh\ntouch "%s/ran-$(basename "$0")-$(id -u)"\necho %s\n' "$T20_MARKS" \
	"'{\"SchemaVersion\":\"0.1.0\",\"Vendor\":\"evil\",\"Version\":\"1.0\",\"ShortDescription\":\"evil\"}'" \
	>"$T20/evil.sh"
echo 'not a certificate' >"$T20/bad.pem"
run_cmd as_user $A sh -c "
	cp '$T20/config.json' '$EVIL_CFG/config.json' &&
	for f in ca.pem cert.pem key.pem; do cp '$T20/bad.pem' '$EVIL_CFG/\$f'; done &&
	for f in '$EVIL_CFG/cli-plugins/docker-evil' '$EVIL_BIN/docker' '$EVIL_BIN/docker-credential-x' '$EVIL_BIN/ssh' '$EVIL_BIN/docker-evil'; do
		cp '$T20/evil.sh' \"\$f\" && chmod 0755 \"\$f\" || exit 1
	done &&
	mkdir -p \"\$HOME/.docker\" && cp -R '$EVIL_CFG/.' \"\$HOME/.docker/\""
is "$RUN_STATUS" 0 "setup: alice's hostile docker config, plugins and programs are in place"
run_forget

# Controls: the same config, used by the docker CLI itself (as root, from a
# root-owned copy), does inject proxies and does run the plugin; so the
# checks below can see an effect if userdocker ever lets it through.
# (Without cliPluginsExtraDirs: root runs nothing from alice's directories.)
cp -R "$EVIL_CFG" "$T20_ROOT/cfg" && chown -R root:root "$T20_ROOT/cfg" &&
	sed -i '/cliPluginsExtraDirs/d' "$T20_ROOT/cfg/config.json"
ctl=$(DOCKER_CONFIG=$T20_ROOT/cfg $UD_DOCKER run --rm local/busybox env 2>&1)
like "$ctl" '^(HTTP_PROXY|http_proxy)=http://user:pw@proxy\.invalid' \
	"control: docker itself, with that config, injects the proxy into the container"
DOCKER_CONFIG=$T20_ROOT/cfg $UD_DOCKER evil >/dev/null 2>&1
like "$(t20_marks)" '^ran-docker-evil-0$' "control: docker itself, with that config, runs the cli-plugin docker-evil"
rm -f "$T20_MARKS"/*
run_forget

# One variable at a time: the run works, and its container sees none of it.
HOSTILE_ENV=(
	"DOCKER_CONFIG=$EVIL_CFG"
	"DOCKER_CONTEXT=evil"
	"DOCKER_API_VERSION=1.12"
	"DOCKER_CERT_PATH=$EVIL_CFG"
	"DOCKER_TLS_VERIFY=1"
	"DOCKER_TLS=1"
	"DOCKER_CONTENT_TRUST=1"
	"DOCKER_CONTENT_TRUST_SERVER=https://notary.invalid"
	"DOCKER_DEFAULT_PLATFORM=linux/arm64"
	"DOCKER_CLI_HOOKS=1"
	"DOCKER_CUSTOM_HEADERS=X-Evil=1"
	"HTTP_PROXY=http://proxy.invalid:1"
	"HTTPS_PROXY=http://proxy.invalid:1"
	"ALL_PROXY=http://proxy.invalid:1"
	"http_proxy=http://proxy.invalid:1"
	"HOME=/root"
	"HOME=$EVIL_CFG"
	"PATH=$EVIL_BIN:/usr/bin:/bin"
	"DEBUG=1"
)
for v in "${HOSTILE_ENV[@]}"; do
	ud_as_env $A "$v" -- run local/busybox env
	is "$RUN_STATUS" 0 "$v: the run works"
	unlike "$RUN_OUT" '^(HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|ALL_PROXY|DOCKER_[A-Z_]+|DEBUG)=' \
		"$v: no proxy, DOCKER_* or DEBUG variable in the container"
	like "$RUN_OUT" "^HOME=$A_HOME\$" "$v: HOME in the container is alice's home"
	t20_no_marks "$v: no plugin, credential helper, ssh or fake docker ran"
done
run_forget

# All of them at once, with the wrapper as executor: what the docker CLI
# itself got.
ud_config "EXECUTORS = { docker = \"$WRAP\" }"
HOSTILE_ALL=("DOCKER_CONFIG=$EVIL_CFG" "DOCKER_CONTEXT=evil" "DOCKER_API_VERSION=1.12"
	"DOCKER_CERT_PATH=$EVIL_CFG" "DOCKER_TLS_VERIFY=1" "DOCKER_CONTENT_TRUST=1"
	"DOCKER_DEFAULT_PLATFORM=linux/arm64" "HTTP_PROXY=http://proxy.invalid:1"
	"HOME=$EVIL_CFG" "PATH=$EVIL_BIN:/usr/bin:/bin" "LD_PRELOAD=$EVIL_BIN/none.so"
	"LUA_INIT=error('x')" "SSH_AUTH_SOCK=$EVIL_CFG/agent" "DOCKER_CLI_HOOKS=1"
	"TERM=xterm")
rm -f "$WRAP_LOG" "$WRAP_LOG.fds"
ud_as_env $A "${HOSTILE_ALL[@]}" -- run local/busybox env
is "$RUN_STATUS" 0 "all hostile variables at once: the run works"
unlike "$RUN_OUT" '^(HTTPS?_PROXY|https?_proxy|NO_PROXY|no_proxy|DOCKER_[A-Z_]+)=' \
	"all hostile variables at once: no proxy or DOCKER_* variable in the container"
wrap=$(cat "$WRAP_LOG" 2>/dev/null)
like "$wrap" '^ids 0 0$' "executor: runs as root (uid and gid 0)"
like "$wrap" '^cwd /$' "executor: runs in /"
is "$(printf '%s\n' "$wrap" | sed -n 's/^env \([^=]*\)=.*/\1/p' | grep -vx 'PWD' | sort | tr '\n' ' ')" \
	"DOCKER_CONFIG DOCKER_HOST HOME PATH TERM " \
	"executor: its environment has exactly DOCKER_CONFIG DOCKER_HOST HOME PATH TERM"
like "$wrap" '^env PATH=/usr/sbin:/usr/bin:/sbin:/bin$' "executor: PATH is the fixed system path"
like "$wrap" "^env DOCKER_HOST=unix://$UD_SOCK\$" "executor: DOCKER_HOST is the configured socket"
home=$(printf '%s\n' "$wrap" | sed -n 's/^env HOME=//p')
cfg=$(printf '%s\n' "$wrap" | sed -n 's/^env DOCKER_CONFIG=//p')
is "$home" "$cfg" "executor: HOME and DOCKER_CONFIG name the same directory"
is "$(stat -c '%u' "$cfg" 2>&1)" 0 "executor: that directory is root's"
unlike "$cfg" "^$A_HOME" "executor: and not in alice's home"
like "$wrap" '^env TERM=xterm$' "executor: TERM is kept"
is "$(wrap_fds)" "0 1 2 " "executor: it inherits fds 0, 1, 2 only"
t20_no_marks "all hostile variables at once: no plugin, credential helper, ssh or fake docker ran"
t20_no_leftover "all hostile variables at once"

# The same inherited fd 5, seen by the executor.
if [ -n "$T20_CC" ]; then
	run_cmd as_user $A sh -c 'echo alice-private-t20 > "$HOME/t20-own"'
	rm -f "$WRAP_LOG" "$WRAP_LOG.fds"
	run_cmd as_user $A "$EXEC" -r "5=$A_HOME/t20-own" -- "$UD_BIN" run local/busybox true
	is "$RUN_STATUS" 0 "fd 5 open to alice's file, wrapper executor: the run works"
	is "$(wrap_fds)" "0 1 2 " "fd 5 open to alice's file: the docker CLI inherits fds 0, 1, 2 only"
	rm -f "$A_HOME/t20-own"
fi
run_forget
reset_config

# Subcommands that make docker look for plugins, helpers or the registry.
ALL_EVIL=("DOCKER_CONFIG=$EVIL_CFG" "HOME=$EVIL_CFG" "PATH=$EVIL_BIN:/usr/bin:/bin" "DOCKER_CLI_HOOKS=1")
ud_as_env $A "${ALL_EVIL[@]}" -- pull localhost:1/t20/x
isnt "$RUN_STATUS" 0 "pull from an unreachable registry under a hostile config: fails (docker's error)"
t20_no_marks "pull under a hostile config: no credential helper ran"
ud_as_env $A "${ALL_EVIL[@]}" -- run --help
is "$RUN_STATUS" 0 "run --help under a hostile config: exit status 0"
ud_as_env $A "${ALL_EVIL[@]}" -- version
is "$RUN_STATUS" 0 "version under a hostile config: exit status 0"
ud_as_env $A "${ALL_EVIL[@]}" -- evil
like "$RUN_STATUS" '^(64|77)$' "'userdocker evil' (a plugin name): refused"
t20_no_marks "run --help, version, evil: no plugin ran"
t20_no_leftover "hostile config"
run_forget

# HOME=/root: the container still gets alice's home, mounted and as $HOME.
ud_as_env $A HOME=/root -- run local/busybox sh -c 'echo "$HOME"; cat /proc/self/mountinfo'
is "$RUN_STATUS" 0 "HOME=/root: the run works"
is "$(printf '%s\n' "$RUN_OUT" | head -n 1)" "$A_HOME" "HOME=/root: \$HOME in the container is alice's home"
like "$RUN_OUT" "^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ $A_HOME " "HOME=/root: alice's home is mounted in the container"
unlike "$RUN_OUT" '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ /root ' "HOME=/root: /root is not mounted"
run_forget

# DOCKER_HOST is refused outright, even empty (docker 20.10 treats an empty
# DOCKER_HOST as set).
for v in "DOCKER_HOST=unix://$UD_SOCK" "DOCKER_HOST=tcp://127.0.0.1:1" "DOCKER_HOST="; do
	ud_mark
	ud_as_env $A "$v" -- run local/busybox true
	t20_failed "$v" 64 '^userdocker: .*DOCKER_HOST'
done
run_forget

# --- the dynamic loader -------------------------------------------------------------

if [ -n "$T20_CC" ]; then
	cat >"$T20/evil.c" <<EOF
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void)
{
	char p[512];
	snprintf(p, sizeof p, "$T20_MARKS/ran-preload-%u-%u", (unsigned)getuid(), (unsigned)geteuid());
	close(open(p, O_WRONLY | O_CREAT, 0644));
}
EOF
	needed=$(ldd "$UD_BIN" | awk '$1 ~ /^lib/ && $1 !~ /^lib(c|m|dl|pthread|rt)\.so/ { print $1; exit }')
	mkdir -p "$T20/lib"
	chmod 0755 "$T20/lib"
	if cc -shared -fPIC -o "$T20/lib/evil.so" "$T20/evil.c" 2>>"$T20/cc.log"; then
		# Control: a plain program does load it.
		run_cmd as_user_env $A "LD_PRELOAD=$T20/lib/evil.so" -- /bin/true
		like "$(t20_marks)" "^ran-preload-$A_UID-$A_UID\$" "control: LD_PRELOAD runs the library in a plain program"
		rm -f "$T20_MARKS"/*
		ud_as_env $A "LD_PRELOAD=$T20/lib/evil.so" -- run local/busybox sh -c 'echo "[$LD_PRELOAD]"'
		is "$RUN_STATUS" 0 "LD_PRELOAD: the run works"
		is "$RUN_OUT" "[]" "LD_PRELOAD: not passed to the container"
		t20_no_marks "LD_PRELOAD: the library never ran"
		if [ -n "$needed" ]; then
			cp "$T20/lib/evil.so" "$T20/lib/$needed"
			run_cmd as_user_env $A "LD_LIBRARY_PATH=$T20/lib" -- ldd "$UD_BIN"
			contains "$RUN_OUT" "$T20/lib/$needed" \
				"control: LD_LIBRARY_PATH would take $needed from the hostile dir"
			ud_as_env $A "LD_LIBRARY_PATH=$T20/lib" "LD_AUDIT=$T20/lib/evil.so" "LD_DEBUG=all" \
				"LD_DEBUG_OUTPUT=$T20_MARKS/ld-debug" -- run local/busybox sh -c 'echo "[$LD_LIBRARY_PATH]"'
			is "$RUN_STATUS" 0 "LD_LIBRARY_PATH, LD_AUDIT, LD_DEBUG: the run works"
			is "$RUN_OUT" "[]" "LD_LIBRARY_PATH: not passed to the container"
			# (the test daemon runs without IP forwarding and docker says so)
			is "$(printf '%s\n' "$RUN_ERR" | grep -v '^WARNING: IPv4 forwarding is disabled')" "" \
				"LD_DEBUG: no loader debug output"
			t20_no_marks "LD_LIBRARY_PATH, LD_AUDIT, LD_DEBUG_OUTPUT: no library ran, no debug file"
		fi
		t20_no_leftover "dynamic loader variables"
	else
		diag "cannot build the preload library: $(cat "$T20/cc.log")"
	fi
	run_forget
fi

# --- Lua's environment variables --------------------------------------------------

LUA_MARK=$T20_MARKS/ran-lua
printf 'os.execute("touch %s-init-file")\n' "$LUA_MARK" >"$T20/init.lua"
mkdir -p "$T20/lua"
printf 'os.execute("touch %s-module")\nreturn {}\n' "$LUA_MARK" >"$T20/lua/string.lua"
cp "$T20/lua/string.lua" "$T20/lua/engine.lua"
chmod -R a+rX "$T20/lua" "$T20/init.lua"
LUA_ENV=("LUA_INIT=os.execute('touch $LUA_MARK-init')" "LUA_INIT_5_4=os.execute('touch $LUA_MARK-init54')"
	"LUA_PATH=$T20/lua/?.lua;;" "LUA_PATH_5_4=$T20/lua/?.lua;;"
	"LUA_CPATH=$T20/lua/?.so;;" "LUA_CPATH_5_4=$T20/lua/?.so;;")
if command -v lua5.4 >/dev/null 2>&1; then
	run_cmd as_user_env $A "LUA_INIT=os.execute('touch $LUA_MARK-control')" -- lua5.4 -e ''
	like "$(t20_marks)" '^ran-lua-control$' "control: LUA_INIT runs code in a plain lua5.4"
	rm -f "$T20_MARKS"/*
fi
for init in "" "@$T20/init.lua"; do
	extra=()
	[ -z "$init" ] || extra=("LUA_INIT=$init" "LUA_INIT_5_4=$init")
	ud_as_env $A "${LUA_ENV[@]}" "${extra[@]}" -- run local/busybox true
	is "$RUN_STATUS" 0 "LUA_INIT${init:+=@file}, LUA_PATH, LUA_CPATH: the run works"
	t20_no_marks "LUA_INIT${init:+=@file}, LUA_PATH, LUA_CPATH: no Lua code of alice's ran"
done
ud_mark
ud_as_env $A "${LUA_ENV[@]}" -- run --privileged local/busybox true
t20_failed "LUA_* set, refused run" 77 '^userdocker: .*not allowed: .*--privileged'
rm -f "$T20_MARKS"/*
run_forget

# --- locale -----------------------------------------------------------------------

for v in "LANG=garbage" "LC_ALL=garbage" "LC_ALL=de_DE.UTF-8" "LANGUAGE=de" $'LC_MESSAGES=../../../../tmp/\x01'; do
	ud_as_env $A "$v" -- run local/busybox echo works
	is "$RUN_STATUS:$RUN_OUT" "0:works" "$(printf %q "$v"): the run works"
	ud_mark
	ud_as_env $A "$v" -- run -v /nonexistent-t20:/x local/busybox true
	t20_failed "$(printf %q "$v"): refused mount" 77 '^userdocker: mount (not allowed|source not found): /nonexistent-t20'
done
run_forget

# --- resource limits set by the caller ----------------------------------------------
#
# Either the run works, or it fails cleanly: userdocker's own status, one
# line naming the problem, no container.

if [ -n "$T20_CC" ]; then
	for lim in nofile=4 nofile=5 as=67108864 cpu=1 fsize=0 nproc=0 stack=65536 data=16777216; do
		rm -f "$A_HOME/t20-limit"
		ud_mark
		run_cmd as_user $A "$EXEC" -l "$lim" -- "$UD_BIN" run local/busybox \
			sh -c 'echo limit-ok; echo ran > "$HOME/t20-limit"'
		if [ "$RUN_STATUS" = 0 ]; then
			is "$RUN_OUT" limit-ok "RLIMIT $lim: the run works and its output arrives"
			ok_if "RLIMIT $lim: the container ran" test -e "$A_HOME/t20-limit"
		else
			like "$RUN_STATUS" '^(70|71)$' "RLIMIT $lim: the run works or fails with userdocker's status (70, 71)"
			if [ "$lim" = fsize=0 ]; then
				# stderr is a file here: with a file size limit of 0 not
				# even the message can be written to it.
				is "$RUN_STATUS" 71 "RLIMIT $lim: refused as a system limit (71)"
			else
				like "$RUN_ERR" '^userdocker: ' "RLIMIT $lim: a userdocker message"
				is "$(t20_lines "$RUN_ERR")" 1 "RLIMIT $lim: one line on stderr"
			fi
			ud_nothing_created "RLIMIT $lim: no container created"
			ok_if "RLIMIT $lim: the container did not run" test ! -e "$A_HOME/t20-limit"
		fi
		t20_no_leftover "RLIMIT $lim"
	done
	rm -f "$A_HOME/t20-limit"
	run_forget
fi

# --- signals to the policy child and to the root parent ---------------------------

# A policy that takes a while (about 1.6e8 Lua instructions, under the
# instruction limit): long enough to catch the child.
SLOW_POLICY='local x = 0
for i = 1, 8e7 do x = x + i end'

ud_config "$SLOW_POLICY"
ud_mark
t20_bg_start run local/busybox true
if child=$(t20_child); then
	kill -STOP "$child"
	t20_bg_wait
	t20_failed "policy child stopped (SIGSTOP)" 70 '^userdocker: .*policy'
	ok_if "policy child stopped: the run ended within 12 s (took ${T20_BG_SECS}s)" t20_le "$T20_BG_SECS" 12
	ok_if "policy child stopped: it is gone" test ! -e "/proc/$child/status"
else
	t20_bg_wait
	skip "the policy finished before it could be stopped" "policy child stopped (SIGSTOP)"
fi

ud_mark
t20_bg_start run local/busybox true
if child=$(t20_child); then
	kill -KILL "$child"
	t20_bg_wait
	t20_failed "policy child killed (SIGKILL)" 70 '^userdocker: .*policy'
	ok_if "policy child killed: the run ended within 5 s (took ${T20_BG_SECS}s)" t20_le "$T20_BG_SECS" 5
else
	t20_bg_wait
	skip "the policy finished before it could be killed" "policy child killed (SIGKILL)"
fi
reset_config
run_forget

# A policy child blocked in open(2) of alice's FIFO (load -i opens its
# input as the caller): no CPU used, only the wall clock can end it.
rm -f "$A_HOME/t20-fifo"
run_cmd as_user $A mkfifo "$A_HOME/t20-fifo"
ud_mark
t20_bg_start load -i "$A_HOME/t20-fifo"
if child=$(t20_child); then
	parent=$(ps -o ppid= -p "$child" | tr -d ' ')
	is "$(ps -o ruid=,euid=,suid= -p "$parent" | tr -s ' ' | sed 's/^ //')" "0 0 0" \
		"while the policy runs: the parent's real, effective and saved uid are 0"
	# (Not SIGCONT: the kernel lets any process of the session send it.)
	for sig in STOP KILL TERM INT HUP; do
		run_cmd as_user $A kill -"$sig" "$parent"
		isnt "$RUN_STATUS" 0 "alice's kill -$sig of the root parent fails"
		like "$RUN_ERR" 'Operation not permitted' "alice's kill -$sig of the root parent: EPERM"
	done
	state=$(sed 's/^.*) //' "/proc/$parent/stat" 2>/dev/null | cut -d' ' -f1)
	like "$state" '^[RSD]$' "the root parent is still alive and not stopped (state $state)"
	t20_bg_wait
	t20_failed "policy child blocked in open(2)" 70 '^userdocker: .*policy'
	ok_if "policy child blocked: the run ended within 12 s (took ${T20_BG_SECS}s)" t20_le "$T20_BG_SECS" 12
else
	t20_bg_wait
	not_ok "load -i FIFO: found the policy child" "status $RUN_STATUS" "stderr: $RUN_ERR"
fi
rm -f "$A_HOME/t20-fifo"
run_forget

# --- policy failures and limits -------------------------------------------------------

ud_config 'LOGLVL = "INFO"
error("t20 boom")'
ud_mark
ud_as $A run local/busybox true
t20_failed "config.lua raises an error" 78 "config\\.lua:$((UD_CONFIG_PRELUDE_LINES + 2)): t20 boom"

ud_config '
local function deep(n) return deep(n + 1) + 1 end
deep(1)'
ud_mark
ud_as $A run local/busybox true
t20_failed "config.lua recurses without end" '70|78' "config\\.lua:$((UD_CONFIG_PRELUDE_LINES + 2)):.*(stack overflow|memory)"

run_limit() {
	local name=$1 re=$2 t0
	shift 2
	ud_mark
	t0=$(date +%s.%N)
	ud_as $A run local/busybox true
	secs=$(t20_since "$t0")
	t20_failed "$name" 70 "$re"
	ok_if "$name: the run ended within 12 s (took ${secs}s)" t20_le "$secs" 12
}

ud_config 'while true do end'
run_limit "config.lua: while true do end" '^userdocker: .*(instruction limit|time limit|timed out|CPU)'

# pcall catches the instruction-limit error; the process limits still hold.
ud_config 'while true do pcall(function() while true do end end) end'
run_limit "config.lua: endless loop that catches the limit error" '^userdocker: .*(limit|timed out|CPU)'

ud_config 'local t = {}
while true do t[#t + 1] = string.rep("x", 4096) .. #t end'
run_limit "config.lua: unbounded allocation" '^userdocker: .*memory'

ud_config 'local s = string.rep("x", 1 << 30)'
run_limit "config.lua: one 1 GiB string" '^userdocker: .*memory'

ud_config 'local t = {}
for i = 1, 1e9 do t[i] = i end'
run_limit "config.lua: a table of 1e9 integers" '^userdocker: .*memory'

# regexec(3) with back-references is exponential in glibc: this one takes
# seconds on 40 characters and far longer on 100 (the image name is the
# subject, and the user chooses it).  The count hook cannot fire inside C.
ud_config 'ALLOWED_IMAGE_REGEXPS = { [[^(a*)(a*)(a*)(a*)(a*)(a*)(a*)(a*)\8\7\6\5\4\3\2\1b]] }'
ud_mark
t0=$(date +%s.%N)
ud_as $A run "$(printf 'a%.0s' {1..100})" true
secs=$(t20_since "$t0")
t20_failed "pathological regexp in ALLOWED_IMAGE_REGEXPS" 70 '^userdocker: .*(limit|timed out|CPU)'
ok_if "pathological regexp: the run ended within 12 s (took ${secs}s)" t20_le "$secs" 12

# And one that crashes glibc's regex engine (unbounded recursion).
ud_config 'ALLOWED_IMAGE_REGEXPS = { [[(|)(\1\1)*]] }'
ud_mark
ud_as $A run local/busybox true
t20_failed "regexp that crashes glibc's regexec" 70 '^userdocker: .*(policy|signal)'
reset_config
run_forget

# --- clean up ---------------------------------------------------------------------

rm -rf "$T20_EVIL" "$A_HOME/.docker" "$T20"
