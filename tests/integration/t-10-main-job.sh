# shellcheck shell=bash disable=SC2016,SC2086 # $HOME is for the container; $A and $UD_DOCKER are words
# t-10-main-job.sh - the main job end to end: a user runs a container
# through the installed setuid binary and gets exactly what the policy says.
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).

A=udt-alice
A_UID=$UD_ALICE_UID A_GID=$UD_ALICE_GID A_HOME=$UD_ALICE_HOME
B=udt-bob

# The default run options, spelled out so a test can add one to them.
RUN_ARGS_DEFAULT='{"-t","--tty"}, {"-i","--interactive"}, "--read-only", {"-P","--publish-all"}'

# --- running as the caller ----------------------------------------------------

ud_mark
ud_as $A run local/busybox sh -c 'echo "$(id -u):$(id -g)"'
is "$RUN_STATUS" 0 "run local/busybox: exit status 0"
is "$RUN_OUT" "$A_UID:$A_GID" "run: the container runs as the caller's uid:gid"
created=$(ud_created)
is "$(printf '%s' "$created" | grep -c .)" 1 "run: exactly one container was created"
is "$(ud_count)" "$UD_MARK_COUNT" "run: --rm by default, no container left behind"
run_forget

ud_as $A run local/busybox cat /proc/self/status
is "$RUN_STATUS" 0 "run cat /proc/self/status: exit status 0"
like "$RUN_OUT" $'^CapEff:[ \t]+0000000000000000$' "in the container: no effective capabilities"
like "$RUN_OUT" $'^CapPrm:[ \t]+0000000000000000$' "in the container: no permitted capabilities"
like "$RUN_OUT" $'^CapBnd:[ \t]+0000000000000000$' "in the container: empty bounding set (CAPS_DROP ALL)"
like "$RUN_OUT" $'^NoNewPrivs:[ \t]+1$' "in the container: no_new_privs is set"
run_forget

# --- the caller's home --------------------------------------------------------

token="from-host-$$-$RANDOM"
run_cmd as_user $A sh -c "printf '%s\n' '$token' > \"\$HOME/ud-host-note\""
is "$RUN_STATUS" 0 "alice writes a file in her home on the host"
ud_as $A run local/busybox sh -c 'test -d "$HOME" && echo "$HOME"'
is "$RUN_OUT" "$A_HOME" "home: \$HOME is the caller's home and exists in the container"
ud_as $A run local/busybox cat "$A_HOME/ud-host-note"
is "$RUN_OUT" "$token" "home: a file alice wrote on the host is readable in the container"
ud_as $A run local/busybox sh -c 'echo from-container > "$HOME/ud-from-container"'
is "$RUN_STATUS" 0 "home: the container can write in the caller's home"
is "$(stat -c '%u:%g' "$A_HOME/ud-from-container" 2>&1)" "$A_UID:$A_GID" \
	"home: a file written by the container is owned by alice on the host"
is "$(cat "$A_HOME/ud-from-container" 2>&1)" from-container "home: its content arrived on the host"
rm -f "$A_HOME/ud-host-note" "$A_HOME/ud-from-container"
run_forget

# The command and its arguments reach the image untouched.
ud_as $A run local/entrypoint
is "$RUN_OUT" "EP default-cmd" "image ENTRYPOINT and CMD apply when no command is given"
ud_as $A run local/entrypoint 'two words' '--privileged' '-v' '/etc:/x'
is "$RUN_OUT" "EP two words --privileged -v /etc:/x" \
	"arguments after the image go to the container, not to docker"
run_forget

# --- a detached container, seen with docker inspect ---------------------------

ud_config "ARGS_ALWAYS.run = {}
ARGS_AVAILABLE.run = { $RUN_ARGS_DEFAULT, {\"-d\",\"--detach\"} }"
ud_as $A run -d local/busybox sleep 300
is "$RUN_STATUS" 0 "run -d (allowed by config): exit status 0"
cid=$(printf '%s\n' "$RUN_OUT" | tail -n 1)
like "$cid" '^[0-9a-f]{64}$' "run -d: prints the container id"
if [ -n "$cid" ] && $UD_DOCKER inspect "$cid" >/dev/null 2>&1; then
	run_forget
	is "$(ud_inspect '{{index .Config.Labels "userdocker.owner.uid"}}' "$cid")" "$A_UID" \
		"inspect: label userdocker.owner.uid"
	is "$(ud_inspect '{{index .Config.Labels "userdocker.owner.name"}}' "$cid")" "$A" \
		"inspect: label userdocker.owner.name"
	version=$(ud_inspect '{{index .Config.Labels "userdocker.version"}}' "$cid")
	like "$version" '^[0-9]+\.[0-9]+' "inspect: label userdocker.version"
	is "$(ud_inspect '{{.Config.User}}' "$cid")" "$A_UID:$A_GID" "inspect: Config.User is uid:gid"
	like "$(ud_inspect '{{json .HostConfig.CapDrop}}' "$cid")" '"ALL"' "inspect: CapDrop contains ALL"
	like "$(ud_inspect '{{json .HostConfig.SecurityOpt}}' "$cid")" 'no-new-privileges' \
		"inspect: SecurityOpt contains no-new-privileges"
	is "$(ud_inspect '{{.HostConfig.Privileged}}' "$cid")" false "inspect: not privileged"
	is "$(ud_inspect '{{.HostConfig.AutoRemove}}' "$cid")" false "inspect: no --rm once ARGS_ALWAYS.run is empty"
	env=$(ud_inspect '{{range .Config.Env}}{{println .}}{{end}}' "$cid")
	like "$env" "^USERDOCKER_USER=$A\$" "inspect: Env has USERDOCKER_USER"
	like "$env" "^USERDOCKER_UID=$A_UID\$" "inspect: Env has USERDOCKER_UID"
	contains "$env" "USERDOCKER=$version" "inspect: Env has USERDOCKER=<version>, same as the label"
	contains "$env" "HOME=$A_HOME" "inspect: Env has HOME=<caller's home>"
	# Destination only: the source may be a staged copy of the mount.
	mounts=$(ud_inspect '{{range .Mounts}}{{println .Type .Destination .RW}}{{end}}' "$cid")
	like "$mounts" "^bind $A_HOME true\$" "inspect: the caller's home is bind-mounted at the same path, writable"
	$UD_DOCKER rm -f "$cid" >/dev/null 2>&1
else
	not_ok "run -d: container exists for docker inspect"
fi
reset_config
run_forget

# --- refusals: status, one-line message, nothing created ----------------------

ud_refused "run --privileged" 77 '^userdocker: .*not allowed: .*--privileged' \
	$A run --privileged local/busybox id
ud_refused "run -v /etc:/x" 77 '^userdocker: mount not allowed: /etc:/x' \
	$A run -v /etc:/x local/busybox id
ud_refused "run -u 0" 77 '^userdocker: .*not allowed: .*(-u|--user)' \
	$A run -u 0 local/busybox id
ud_refused "run -u0" 77 '^userdocker: .*not allowed: .*(-u|--user)' \
	$A run -u0 local/busybox id
ud_refused "run --user=0" 77 '^userdocker: .*not allowed: .*--user' \
	$A run --user=0 local/busybox id
ud_refused "run -tu0 (short-flag cluster)" 77 '^userdocker: .*not allowed: .*(-[a-z]*u|--user)' \
	$A run -tu0 local/busybox id

ud_config 'ALLOWED_IMAGE_REGEXPS = { "^local/busybox" }'
ud_as $A run local/busybox true
is "$RUN_STATUS" 0 "ALLOWED_IMAGE_REGEXPS ^local/busybox: local/busybox runs"
ud_refused "image outside ALLOWED_IMAGE_REGEXPS" 77 '^userdocker: image not allowed: local/other(:latest)?' \
	$A run local/other id
reset_config

ud_refused "global docker flag -H" '64|77' '^userdocker: .*(-H|--host)' \
	$A -H unix:///x ps
ud_refused "global docker flag --config" '64|77' '^userdocker: .*--config' \
	$A --config /tmp ps
ud_mark
ud_as_env $A DOCKER_HOST="unix://$UD_SOCK" -- ps
isnt "$RUN_STATUS" 0 "DOCKER_HOST in the environment: an error"
like "$RUN_ERR" '^userdocker: .*DOCKER_HOST' "DOCKER_HOST in the environment: the message names it"
is "$RUN_OUT" "" "DOCKER_HOST in the environment: docker did not run"
ud_nothing_created "DOCKER_HOST in the environment: no container created"
run_forget
ud_refused "unknown subcommand" 64 '^userdocker: .*frobnicate' \
	$A frobnicate

ud_config 'ALLOWED_SUBCOMMANDS = { "run", "version" }'
ud_refused "subcommand not in ALLOWED_SUBCOMMANDS" 77 '^userdocker: .*not allowed: ps' \
	$A ps
reset_config

# --- dry run and debug --------------------------------------------------------

ud_mark
ud_as $A -n run local/busybox id
is "$RUN_STATUS" 0 "-n run: exit status 0"
is "$(printf '%s\n' "$RUN_OUT" | grep -c .)" 1 "-n run: one line on stdout"
line=${RUN_OUT//\'/}
line=${line//\"/}
like "$line" "^$UD_EXECUTOR " "-n run: the line starts with the executor path"
like "$line" ' run( |$)' "-n run: the docker subcommand is run"
like "$line" "--user=$A_UID:$A_GID( |\$)" "-n run: --user=uid:gid is added"
like "$line" ' --rm(=true)?( |$)' "-n run: --rm from ARGS_ALWAYS"
like "$line" ' --cap-drop=ALL( |$)' "-n run: --cap-drop=ALL"
like "$line" ' (-- )?local/busybox(:latest)? id$' "-n run: ends with the image and the command"
ud_nothing_created "-n run: no container created"

ud_mark
ud_as $A --dry-run run local/busybox touch "$A_HOME/ud-dry-run"
is "$RUN_STATUS" 0 "--dry-run: exit status 0"
ok_if "--dry-run: the command did not run" test ! -e "$A_HOME/ud-dry-run"
ud_nothing_created "--dry-run: no container created"
run_forget

ud_as $A --debug run local/busybox true
is "$RUN_STATUS" 0 "--debug run: exit status 0"
contains "$RUN_OUT$RUN_ERR" "$UD_CONFIG" "--debug: names the config file it loaded"
run_forget

# --- configuration that must not be trusted -----------------------------------

chown $A "$UD_CONFIG"
ud_refused "config.lua owned by a user" 78 "^userdocker: .*$UD_CONFIG" \
	$A run local/busybox id
chown root:root "$UD_CONFIG"
chmod 0666 "$UD_CONFIG"
ud_refused "config.lua mode 0666" 78 "^userdocker: .*$UD_CONFIG" \
	$A run local/busybox id
chmod 0644 "$UD_CONFIG"
chmod 0775 "$UD_ETC"
ud_refused "config dir group-writable" 78 "^userdocker: .*$UD_ETC([^/]|\$)" \
	$A run local/busybox id
reset_config

ud_config '-- a syntax error two lines down
LOGLVL = "INFO"
ALLOWED_IMAGE_REGEXPS = = { "^local/" }'
ud_refused "config.lua syntax error" 78 "config\\.lua:$((UD_CONFIG_PRELUDE_LINES + 3)):" \
	$A run local/busybox id
ud_config 'LOGLVL = "INFO"
ALLOWED_IMAGE_REGEXPS = { "^local/" .. undefined_variable }'
ud_refused "config.lua runtime error" 78 "config\\.lua:$((UD_CONFIG_PRELUDE_LINES + 2)):" \
	$A run local/busybox id
reset_config

# --- other subcommands --------------------------------------------------------

ud_as $A version
is "$RUN_STATUS" 0 "version: exit status 0"
like "$RUN_OUT" '^userdocker.*[0-9]+\.[0-9]+' "version: prints userdocker's version"
like "$RUN_OUT" '^Server' "version: prints the docker server section"
like "$RUN_OUT" 'Version: +20\.10\.' "version: prints docker's version"
ud_as $A --version
is "$RUN_STATUS" 0 "--version: exit status 0"
like "$RUN_OUT" '[0-9]+\.[0-9]+' "--version: prints a version"
run_forget

ud_as $A ps
is "$RUN_STATUS" 0 "ps: exit status 0"
like "$RUN_OUT" '^CONTAINER ID' "ps: docker's table header"
ud_as $A images
is "$RUN_STATUS" 0 "images: exit status 0"
like "$RUN_OUT" '^local/busybox +latest ' "images: lists local/busybox"
run_forget

# --- mounts on request --------------------------------------------------------

run_cmd as_user $A sh -c 'mkdir -p "$HOME/sub" "$HOME/sub2" && echo sub-data > "$HOME/sub/f"'
ud_config 'VOLUME_MOUNTS_AVAILABLE = { user_home .. "/sub:" }'
ud_as $A run -v "$A_HOME/sub:/sub:ro" local/busybox \
	sh -c 'cat /sub/f; if touch /sub/new 2>/dev/null; then echo WRITABLE; else echo READONLY; fi'
is "$RUN_STATUS" 0 "-v \$HOME/sub:/sub:ro (AVAILABLE, container path chosen by the user): exit status 0"
is "$RUN_OUT" "sub-data
READONLY" "-v ...:ro: the directory is visible and read-only in the container"
ok_if "-v ...:ro: nothing was written on the host" test ! -e "$A_HOME/sub/new"
# sub2 shares a string prefix with the allowed sub: not the same directory.
ud_refused "-v of a host path not in VOLUME_MOUNTS_AVAILABLE" 77 '^userdocker: mount not allowed: ' \
	$A run -v "$A_HOME/sub2:/sub" local/busybox true

missing=$UD_PREFIX/no-such-dir
ud_config "VOLUME_MOUNTS_AVAILABLE = { \"$missing:/data\" }"
ud_refused "-v of a nonexistent host path" 77 "^userdocker: .*$missing" \
	$A run -v "$missing:/data" local/busybox true
ok_if "nonexistent host path: docker did not create it" test ! -e "$missing"
reset_config
rm -rf "$A_HOME/sub" "$A_HOME/sub2"

# --- group configuration ------------------------------------------------------

ud_config_file group/config_10_udt-lab.lua "ARGS_AVAILABLE.run = { $RUN_ARGS_DEFAULT, \"--name\" }"
ud_mark
ud_as $A run --name ud-alice-named local/busybox true
is "$RUN_STATUS" 0 "group config (udt-lab grants --name): alice may use --name"
like "$($UD_DOCKER events --since "$UD_MARK_TIME" --until "$(date +%s.%N)" \
	--filter type=container --filter event=create --format '{{.Actor.Attributes.name}}')" \
	'^ud-alice-named$' "group config: the container got the requested name"
ud_refused "group config does not apply to bob (not in udt-lab)" 77 '^userdocker: .*not allowed: .*--name' \
	$B run --name ud-bob-named local/busybox true
reset_config

# -h/--help before the subcommand is help on that subcommand, never a run.
ud_mark
ud_as $A -h run local/busybox sh -c 'echo RAN-T10'
is "$RUN_STATUS" 0 "-h run IMAGE CMD: exit status 0"
like "$RUN_OUT" '^Usage: userdocker run ' "-h run IMAGE CMD: prints the help of run"
unlike "$RUN_OUT" 'RAN-T10' "-h run IMAGE CMD: ... and runs nothing"
ud_nothing_created "-h run IMAGE CMD: no container"
ud_as $A --help container ls
like "$RUN_OUT" '^Usage: userdocker ps ' "--help container ls: the help of ps"
