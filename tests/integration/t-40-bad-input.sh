# t-40-bad-input.sh - bad input on the command line: empty and huge
# arguments, too many of them, bytes that are not UTF-8, odd image names,
# "--" anywhere, values that look like options, docker's grey zones, the
# wrapper's own marks, the files docker's CLI would open (--env-file,
# --label-file, load -i, --cidfile, seccomp profiles), docker's global
# options and the options that change who the container is.
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).

A=udt-alice
A_UID=$UD_ALICE_UID A_GID=$UD_ALICE_GID A_HOME=$UD_ALICE_HOME

T40=$UD_PREFIX/t40
rm -rf "$T40"
mkdir -p "$T40/root" && chmod 0755 "$T40" && chmod 0700 "$T40/root" || bail_out "cannot create $T40"

t40_lines() {
	printf '%s' "$1" | grep -c .
}

# A run that may be refused or may work: STATUS_OK when it ran, or one of
# userdocker's statuses with a one-line message.  NAME STATUS_RE MSG_RE.
t40_clean_error() {
	local name=$1 status=$2 re=$3
	like "$RUN_STATUS" "^($status)\$" "$name: exit status $status"
	like "$RUN_ERR" "$re" "$name: message"
	is "$(t40_lines "$RUN_ERR")" 1 "$name: one line on stderr"
	ud_nothing_created "$name: no container created"
}

# --- empty arguments --------------------------------------------------------------

ud_refused 'run ""' '64|77' '^userdocker: .*image' $A run ""
ud_refused 'userdocker ""' 64 '^userdocker: .*(unknown|subcommand)' $A ""
ud_refused 'userdocker "" run local/busybox' 64 '^userdocker: .*(unknown|subcommand)' $A "" run local/busybox true
ud_as $A run local/busybox sh -c 'echo "$#:[$1][$2]"' sh "" ""
is "$RUN_STATUS:$RUN_OUT" "0:2:[][]" "empty arguments to the container's command arrive as such"
ud_as $A run -e EMPTY_T40= local/busybox sh -c 'echo "[${EMPTY_T40-unset}]"'
is "$RUN_STATUS:$RUN_OUT" "0:[]" "-e EMPTY_T40= sets an empty variable"
run_forget

# --- huge arguments ----------------------------------------------------------------

# One argument of 1 MiB is over the kernel's MAX_ARG_STRLEN (128 KiB): the
# exec(2) fails with E2BIG in the shell, before userdocker exists.
big=$(head -c $((1024 * 1024)) /dev/zero | tr '\0' x)
ud_mark
ud_as $A run local/busybox echo "$big"
is "$RUN_STATUS" 126 "an argument of 1 MiB: exec(2) fails (status 126 from the shell)"
like "$RUN_ERR" 'Argument list too long' "an argument of 1 MiB: E2BIG, 'Argument list too long'"
ud_nothing_created "an argument of 1 MiB: no container created"
run_forget

# 120 KiB fits; the container gets it whole, or userdocker refuses cleanly.
big=$(head -c $((120 * 1024)) /dev/zero | tr '\0' y)
ud_mark
ud_as $A run local/busybox sh -c 'printf %s "$1" | wc -c' sh "$big"
if [ "$RUN_STATUS" = 0 ]; then
	is "$(echo $RUN_OUT)" $((120 * 1024)) "an argument of 120 KiB: the container gets all of it"
else
	t40_clean_error "an argument of 120 KiB" '64|77' '^userdocker: '
fi
ud_mark
ud_as $A run -e "BIG_T40=$big" local/busybox sh -c 'printf %s "$BIG_T40" | wc -c'
if [ "$RUN_STATUS" = 0 ]; then
	is "$(echo $RUN_OUT)" $((120 * 1024)) "-e with a 120 KiB value: the container gets all of it"
else
	t40_clean_error "-e with a 120 KiB value" '64|77' '^userdocker: '
fi
unset big
run_forget

# --- many arguments -----------------------------------------------------------------

mapfile -t many < <(yes a | head -n 100000)
ud_refused "100 000 arguments after the command (over userdocker's limit)" 64 '^userdocker: .*too many' \
	$A run local/busybox true "${many[@]}"

# Exactly as many as userdocker's parser accepts (100 000 words from the
# subcommand on: 6 before the arguments): the run works, or fails with one
# clean line.
ud_mark
ud_as $A run local/busybox sh -c 'echo $#' sh "${many[@]:0:99994}"
if [ "$RUN_STATUS" = 0 ]; then
	is "$RUN_OUT" 99994 "100 000 words (the limit): the container gets all 99 994 arguments"
else
	diag "100 000 words (the limit): status $RUN_STATUS: $RUN_ERR"
	t40_clean_error "100 000 words (the limit)" '64|70|77' '^userdocker: '
fi
ud_as $A run local/busybox sh -c 'echo $#' sh "${many[@]:0:50000}"
is "$RUN_STATUS:$RUN_OUT" "0:50000" "50 000 arguments: the container gets all of them"
unset many
run_forget

# --- bytes that are not UTF-8 ---------------------------------------------------------
#
# Passed through exactly, or refused cleanly (docker's JSON encoding would
# turn each bad byte into U+FFFD, ef bf bd: then the container would run
# something other than what the policy approved).

RAW=$'\xff\xfe\x80abc\xc3'
RAW_HEX=' ff fe 80 61 62 63 c3'
ud_mark
ud_as $A run local/busybox sh -c 'printf %s "$1" | od -An -tx1' sh "$RAW"
if [ "$RUN_STATUS" = 0 ]; then
	is "$RUN_OUT" "$RAW_HEX" "non-UTF-8 bytes in the command: the container gets exactly those bytes"
else
	t40_clean_error "non-UTF-8 bytes in the command" '64|77' '^userdocker: .*(UTF-8|utf8|utf-8)'
fi
ud_mark
ud_as $A run -e "RAW_T40=$RAW" local/busybox sh -c 'printf %s "$RAW_T40" | od -An -tx1'
if [ "$RUN_STATUS" = 0 ]; then
	is "$RUN_OUT" "$RAW_HEX" "non-UTF-8 bytes in a -e value: the container gets exactly those bytes"
else
	t40_clean_error "non-UTF-8 bytes in a -e value" '64|77' '^userdocker: .*(UTF-8|utf8|utf-8)'
fi
ud_mark
ud_as_env $A "RAW_T40=$RAW" -- run -e RAW_T40 local/busybox true
t40_clean_error "non-UTF-8 bytes in the caller's variable behind a bare -e KEY" 64 '^userdocker: --env RAW_T40: .*UTF-8'
ud_as $A run local/busybox sh -c 'printf %s "$1" | od -An -tx1' sh $'tab\there\001'
is "$RUN_STATUS:$RUN_OUT" "0: 74 61 62 09 68 65 72 65 01" "a tab and a control byte in an argument: passed through exactly"
run_forget

# --- image names -------------------------------------------------------------------------

# (-image reads as -i -m age: docker would refuse the memory size, userdocker
# the option or the value.)
ud_refused "run -image (an image name that starts with -)" '64|77' '^userdocker: ' \
	$A run -image true
ud_refused "run -- -image" '64|77' '^userdocker: .*-image' \
	$A run -- -image true
ud_refused "run --rm -- --privileged" '64|77' '^userdocker: .*--privileged' \
	$A run --rm -- --privileged true
# Docker's own refusals print two lines (the error and a hint).
ud_mark
ud_as $A run local/BusyBox true
like "$RUN_STATUS" '^(64|77|125)$' "uppercase image local/BusyBox: refused, by the policy or by docker"
like "$RUN_ERR" '(^userdocker: .*BusyBox|repository name must be lowercase)' "uppercase image: the message says why"
is "$RUN_OUT" "" "uppercase image: nothing on stdout"
ud_nothing_created "uppercase image: no container created"
run_forget

# A digest reference matches the default regexp; the image is not there
# and RUN_PULL=never keeps docker off the network: refused by userdocker
# (77) or by docker (125), saying the image is not there.
digest=sha256:$(printf '0123456789abcdef%.0s' 1 2 3 4)
ud_config 'RUN_PULL = "never"'
ud_mark
ud_as $A run "local/busybox@$digest" true
like "$RUN_STATUS" '^(77|125)$' "digest reference not present (RUN_PULL=never): refused (77) or docker's 125"
like "$RUN_ERR" "(No such image|not found|Unable to find|not present).*local/busybox@$digest" \
	"digest reference: the message says the image is not there"
is "$RUN_OUT" "" "digest reference: nothing on stdout"
ud_nothing_created "digest reference: no container created"
reset_config
ud_mark
ud_as $A run local/busybox@nothex true
like "$RUN_STATUS" '^(64|77|125)$' "a digest that is not one (local/busybox@nothex): refused"
like "$RUN_ERR" '(^userdocker: .*nothex|invalid reference format)' "local/busybox@nothex: the message says why"
ud_nothing_created "local/busybox@nothex: no container created"
run_forget

# --- "--" at every position --------------------------------------------------------------

ud_as $A -- run local/busybox echo hi
is "$RUN_STATUS:$RUN_OUT" "0:hi" "userdocker -- run ...: works"
ud_as $A run -- local/busybox echo hi
is "$RUN_STATUS:$RUN_OUT" "0:hi" "run -- IMAGE ...: works"
ud_as $A run local/entrypoint -- echo hi
is "$RUN_STATUS:$RUN_OUT" "0:EP -- echo hi" "run IMAGE -- ...: the container gets -- as an argument"
ud_as $A run local/busybox sh -c 'echo "$*"' sh -- a -- b
is "$RUN_STATUS:$RUN_OUT" "0:-- a -- b" "run IMAGE CMD -- a -- b: every -- reaches the container"
ud_as $A run --rm -- local/busybox echo hi
is "$RUN_STATUS:$RUN_OUT" "0:hi" "run --rm -- IMAGE: works"
ud_refused "container -- run" 64 '^userdocker: .*--' $A container -- run local/busybox true
ud_refused "-- -- run" 64 '^userdocker: ' $A -- -- run local/busybox true
ud_refused "run -- (no image)" '64|77' '^userdocker: ' $A run --
run_forget

# --- grey zones of docker's parser ----------------------------------------------------------

ud_refused "run --rm=yes" 64 '^userdocker: .*--rm' $A run --rm=yes local/busybox true
ud_refused "run -t=yes" 64 '^userdocker: .*(-t|--tty)' $A run -t=yes local/busybox true
ud_refused "run -test.v" 64 '^userdocker: .*-test\.v' $A run -test.v local/busybox true
ud_refused "run -test.run=x" 64 '^userdocker: .*-test\.' $A run -test.run=x local/busybox true
ud_refused "ps -test.v" 64 '^userdocker: .*-test\.' $A ps -test.v
ud_refused "userdocker -test.v run" 64 '^userdocker: ' $A -test.v run local/busybox true
ud_refused "run --user --privileged (a value that looks like an option)" '64|77' '^userdocker: .*(--user|--privileged)' \
	$A run --user --privileged local/busybox true
ud_refused "run -w -x (an allowed option, its value starts with -)" 64 '^userdocker: .*(-w|--workdir)' \
	$A run -w -x local/busybox true
ud_refused "run --entrypoint --privileged" 64 '^userdocker: .*--entrypoint' \
	$A run --entrypoint --privileged local/busybox true
ud_refused "run -e -x" 64 '^userdocker: .*(-e|--env)' \
	$A run -e -x local/busybox true
ud_refused "run --workdir (its value missing)" 64 '^userdocker: .*(--workdir|-w)' $A run --workdir
ud_refused "run --nosuchflag" 64 '^userdocker: .*nosuchflag' $A run --nosuchflag local/busybox true
ud_as $A run -w=/tmp local/busybox pwd
is "$RUN_STATUS:$RUN_OUT" "0:/tmp" "run -w=/tmp: read as docker does (one '=' stripped)"
ud_as $A run local/busybox --workdir
is "$RUN_STATUS" 127 "run IMAGE --workdir: --workdir is the container's command (docker: not found, 127)"
run_forget

# --- the wrapper's marks ------------------------------------------------------------------------

ud_refused "-e USERDOCKER_UID=0" 77 '^userdocker: env not allowed: USERDOCKER_UID=0' \
	$A run -e USERDOCKER_UID=0 local/busybox true
ud_refused "-e userdocker_uid=0 (lowercase)" 77 '^userdocker: env not allowed: ' \
	$A run -e userdocker_uid=0 local/busybox true
ud_refused "--env=USERDOCKER=x" 77 '^userdocker: env not allowed: ' \
	$A run --env=USERDOCKER=x local/busybox true
ud_mark
ud_as_env $A USERDOCKER_UID=0 -- run -e USERDOCKER_UID local/busybox true
t40_clean_error "-e USERDOCKER_UID (bare, set in alice's environment to 0)" 77 '^userdocker: env not allowed: USERDOCKER_UID'
ud_refused "-l userdocker.owner.uid=0" 77 '^userdocker: label not allowed: userdocker\.owner\.uid=0' \
	$A run -l userdocker.owner.uid=0 local/busybox true
ud_refused "--label=USERDOCKER.owner.name=root (uppercase)" 77 '^userdocker: label not allowed: ' \
	$A run --label=USERDOCKER.owner.name=root local/busybox true
ud_refused '--label " userdocker.x=1" (leading space)' 77 '^userdocker: label not allowed: ' \
	$A run --label " userdocker.x=1" local/busybox true
ud_config 'ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-l", "--label" }'
ud_refused "-l userdocker.owner.uid=0, --label allowed by the admin" 77 '^userdocker: label not allowed: ' \
	$A run -l userdocker.owner.uid=0 local/busybox true
reset_config

run_cmd as_user $A sh -c 'printf "userdocker.owner.uid=0\n" > "$HOME/t40-labels" &&
	printf "# a comment\nFOO_T40=bar\nBARE_T40\n\nEQ_T40=a=b\n" > "$HOME/t40-env" &&
	printf "USERDOCKER_UID=0\n" > "$HOME/t40-env-mark" &&
	printf "Port 22\n" > "$HOME/t40-env-bad"'
ud_refused "--label-file with a userdocker.* label" 77 '^userdocker: label not allowed: userdocker\.owner\.uid=0' \
	$A run --label-file "$A_HOME/t40-labels" local/busybox true
ud_refused "--env-file with USERDOCKER_UID=0" 77 '^userdocker: env not allowed: USERDOCKER_UID=0' \
	$A run --env-file "$A_HOME/t40-env-mark" local/busybox true
run_forget

# --- files docker's CLI would open as root ------------------------------------------------------

printf 'SECRET_T40=root-only-value\n' >"$T40/root/secret.env"
chmod 0600 "$T40/root/secret.env"
ud_refused "--env-file of a root-only file" 64 "^userdocker: cannot open $T40/root/secret\\.env.*Permission denied" \
	$A run --env-file "$T40/root/secret.env" local/busybox env
ud_refused "--label-file of a root-only file" 64 "^userdocker: cannot open $T40/root/secret\\.env.*Permission denied" \
	$A run --label-file "$T40/root/secret.env" local/busybox true
ud_refused "--env-file of a nonexistent file" 64 "^userdocker: cannot open $A_HOME/t40-nope.*No such file" \
	$A run --env-file "$A_HOME/t40-nope" local/busybox true
ud_refused "--env-file with 'Port 22' (docker's parse error)" 64 "^userdocker: .*whitespace" \
	$A run --env-file "$A_HOME/t40-env-bad" local/busybox true

ud_as_env $A BARE_T40=from-alice -- run --env-file "$A_HOME/t40-env" local/busybox env
is "$RUN_STATUS" 0 "--env-file of alice's own file: the run works"
like "$RUN_OUT" '^FOO_T40=bar$' "--env-file: FOO_T40=bar is in the container"
like "$RUN_OUT" '^BARE_T40=from-alice$' "--env-file: a bare BARE_T40 takes alice's value"
like "$RUN_OUT" '^EQ_T40=a=b$' "--env-file: EQ_T40=a=b keeps its second ="
ud_as $A run --env-file "$A_HOME/t40-env" local/busybox env
unlike "$RUN_OUT" '^BARE_T40' "--env-file: a bare name alice has not set is dropped"
# The order of --env-file and -e: as docker itself has it.
for order in "--env-file $A_HOME/t40-env -e FOO_T40=override" "-e FOO_T40=override --env-file $A_HOME/t40-env"; do
	# shellcheck disable=SC2086 # split the options
	want=$($UD_DOCKER run --rm $order local/busybox sh -c 'echo "$FOO_T40"' 2>/dev/null)
	# shellcheck disable=SC2086
	ud_as $A run $order local/busybox sh -c 'echo "$FOO_T40"'
	is "$RUN_STATUS:$RUN_OUT" "0:$want" "$order: FOO_T40 is what docker itself gives ($want)"
done
run_forget

# load -i: the archive is opened by alice, not by root.
$UD_DOCKER tag local/busybox:latest local/t40-secret:latest >/dev/null &&
	$UD_DOCKER save -o "$T40/root/secret.tar" local/t40-secret:latest &&
	$UD_DOCKER rmi local/t40-secret:latest >/dev/null
chmod 0600 "$T40/root/secret.tar"
ud_refused "load -i of a root-only archive" 64 "^userdocker: cannot open $T40/root/secret\\.tar.*Permission denied" \
	$A load -i "$T40/root/secret.tar"
is "$($UD_DOCKER images -q local/t40-secret 2>&1)" "" "load -i of a root-only archive: the image was not loaded"

$UD_DOCKER tag local/busybox:latest udt-alice/t40:latest >/dev/null &&
	$UD_DOCKER save -o "$A_HOME/t40-image.tar" udt-alice/t40:latest &&
	$UD_DOCKER rmi udt-alice/t40:latest >/dev/null
chown "$A:$A_GID" "$A_HOME/t40-image.tar"
chmod 0600 "$A_HOME/t40-image.tar"
ud_as $A load -i "$A_HOME/t40-image.tar"
is "$RUN_STATUS" 0 "load -i of alice's own archive (named udt-alice/t40): exit status 0"
like "$RUN_OUT" 'Loaded image: udt-alice/t40:latest' "load -i of alice's own archive: docker loaded it"
like "$($UD_DOCKER images --format '{{.Repository}}:{{.Tag}}' udt-alice/t40 2>&1)" '^udt-alice/t40:latest$' \
	"load -i of alice's own archive: the image is there"
$UD_DOCKER rmi udt-alice/t40:latest >/dev/null 2>&1
ud_as $A -n load -i "$A_HOME/t40-image.tar"
like "$RUN_ERR" "^userdocker: note: load: the archive's image names are checked as it is loaded, not in a dry run" \
	"load -n: says that the archive itself is judged only when it is loaded"
ud_as $A load --input="$A_HOME/t40-image.tar"
is "$RUN_STATUS" 0 "load --input=FILE: the same"
$UD_DOCKER rmi udt-alice/t40:latest >/dev/null 2>&1
run_cmd as_user $A sh -c 'userdocker_bin=$1; "$userdocker_bin" load < "$HOME/t40-image.tar"' sh "$UD_BIN"
is "$RUN_STATUS:$RUN_OUT" "0:Loaded image: udt-alice/t40:latest" "load from stdin: the same"
$UD_DOCKER rmi udt-alice/t40:latest >/dev/null 2>&1

# Taking over a name everybody uses: an archive that names another image
# local/busybox:latest (different content) must not replace it.
bb_before=$($UD_DOCKER image inspect -f '{{.Id}}' local/busybox:latest)
evil=$($UD_DOCKER run -d local/busybox sh -c 'echo evil > /evil-t40') && $UD_DOCKER wait "$evil" >/dev/null &&
	$UD_DOCKER commit "$evil" t40-evil:1 >/dev/null && $UD_DOCKER rm -f "$evil" >/dev/null &&
	$UD_DOCKER tag t40-evil:1 local/busybox:evil >/dev/null ||
	bail_out "cannot build the t40 evil image"
t40_evil_archive() { # NAME: save t40-evil:1 as NAME into alice's home
	$UD_DOCKER tag t40-evil:1 "$1" >/dev/null && $UD_DOCKER save -o "$A_HOME/t40-evil.tar" "$1" &&
		chown "$A:$A_GID" "$A_HOME/t40-evil.tar"
	[ "$1" = local/busybox:latest ] && $UD_DOCKER tag "$bb_before" local/busybox:latest >/dev/null
	[ "$1" = local/busybox:latest ] || $UD_DOCKER rmi "$1" >/dev/null
}
for name in local/busybox:latest udt-bob/tool:1 udt-alicex/tool:1 docker.io/library/busybox:latest \
	localhost:5000/udt-alice/x:1; do
	t40_evil_archive "$name"
	ud_refused "load of an archive naming $name" 77 \
		"^userdocker: load not allowed: the archive names the image .* \\(only names under udt-alice/ may be loaded" \
		$A load -i "$A_HOME/t40-evil.tar"
	is "$($UD_DOCKER image inspect -f '{{.Id}}' local/busybox:latest)" "$bb_before" \
		"load of an archive naming $name: local/busybox:latest is unchanged"
done
is "$($UD_DOCKER images -q udt-bob/tool)" "" "no image udt-bob/tool appeared"
t40_evil_archive local/busybox:latest
gzip -c "$A_HOME/t40-evil.tar" >"$A_HOME/t40-evil.tar.gz" && chown "$A:$A_GID" "$A_HOME/t40-evil.tar.gz"
ud_refused "load of a gzip-compressed archive" 77 '^userdocker: load not allowed: a gzip-compressed archive' \
	$A load -i "$A_HOME/t40-evil.tar.gz"
# Tar tricks that could put a manifest.json where docker looks.
T40_TAR=$(mktemp -d "$UD_TEST_BASE/t40-tar.XXXXXX")
mkdir -p "$T40_TAR/x" "$T40_TAR/y" && tar -C "$T40_TAR/x" -xf "$A_HOME/t40-evil.tar" ||
	bail_out "cannot unpack the t40 archive"
ln -s . "$T40_TAR/x/top-link"
tar -C "$T40_TAR/x" -cf "$A_HOME/t40-trick.tar" . && chown "$A:$A_GID" "$A_HOME/t40-trick.tar"
ud_refused "load of an archive with a link at its top level" 77 \
	'^userdocker: load not allowed: the archive has a link at its top level' $A load -i "$A_HOME/t40-trick.tar"
rm "$T40_TAR/x/top-link"
rm -f "$T40_TAR/x/repositories" # (it would be refused first, for its name)
mv "$T40_TAR/x/manifest.json" "$T40_TAR/x/real-manifest"
ln -s real-manifest "$T40_TAR/x/manifest.json"
tar -C "$T40_TAR/x" -cf "$A_HOME/t40-trick.tar" . && chown "$A:$A_GID" "$A_HOME/t40-trick.tar"
ud_refused "load of an archive whose manifest.json is a link" 77 \
	'^userdocker: load not allowed: the archive has a link at its top level \(manifest.json\)' \
	$A load -i "$A_HOME/t40-trick.tar"
# Archives where tar or JSON readers disagree (tests/tools/tar_tricks.py):
# whatever userdocker makes of them, docker gets its rewrite, so the name
# it checked is the name docker sees.
if command -v python3 >/dev/null 2>&1; then
	$UD_DOCKER save -o "$T40_TAR/evil.tar" t40-evil:1 && mkdir -p "$T40_TAR/tricks" &&
		tricks=$(python3 "$UD_SRCDIR/tests/tools/tar_tricks.py" "$T40_TAR/evil.tar" "$T40_TAR/tricks" \
			local/busybox:latest) || bail_out "tests/tools/tar_tricks.py failed"
	chmod 0755 "$T40_TAR" "$T40_TAR/tricks" && chmod 0644 "$T40_TAR"/tricks/*.tar
	for trick in $tricks; do
		ud_as $A load -i "$T40_TAR/tricks/$trick.tar"
		isnt "$RUN_STATUS" 0 "load trick $trick: fails"
		unlike "$RUN_OUT" 'Loaded image: local/busybox' "load trick $trick: docker tagged nothing of ours"
		is "$($UD_DOCKER image inspect -f '{{.Id}}' local/busybox:latest)" "$bb_before" \
			"load trick $trick: local/busybox:latest is unchanged"
	done
	# The same image without tricks, under its own name: userdocker's
	# rewrite of the archive is one docker loads.
	$UD_DOCKER tag t40-evil:1 udt-alice/t40-plain:1 >/dev/null &&
		$UD_DOCKER save -o "$T40_TAR/own.tar" udt-alice/t40-plain:1 &&
		$UD_DOCKER rmi udt-alice/t40-plain:1 >/dev/null && chmod 0644 "$T40_TAR/own.tar"
	ud_as $A load -i "$T40_TAR/own.tar"
	is "$RUN_STATUS:$RUN_OUT" "0:Loaded image: udt-alice/t40-plain:1" "load of alice's own image through the rewrite"
	ud_as $A run --rm udt-alice/t40-plain:1 cat /evil-t40
	is "$RUN_STATUS:$RUN_OUT" "0:evil" "... and the loaded image has its contents"
	$UD_DOCKER rmi udt-alice/t40-plain:1 >/dev/null 2>&1
	mkdir -p "$T40_TAR/own" && python3 "$UD_SRCDIR/tests/tools/tar_tricks.py" "$T40_TAR/own.tar" \
		"$T40_TAR/own" local/busybox:latest >/dev/null && chmod -R a+rX "$T40_TAR/own" ||
		bail_out "tests/tools/tar_tricks.py failed"
	ud_as $A load -i "$T40_TAR/own/gzip-name.tar"
	is "$RUN_STATUS:$RUN_OUT" "0:Loaded image: udt-alice/t40-plain:1" \
		"load: a first entry named with gzip's magic does not make docker decompress"
	$UD_DOCKER rmi udt-alice/t40-plain:1 >/dev/null 2>&1
	# An archive with alice's image and, untagged, the image it was made
	# from (local/busybox): docker save writes Parent, and docker load would
	# link alice's image under the shared one, where other users' builds
	# find cached children.  The link is dropped.
	$UD_DOCKER tag t40-evil:1 udt-alice/t40-plain:1 >/dev/null &&
		$UD_DOCKER save -o "$T40_TAR/family.tar" udt-alice/t40-plain:1 "$bb_before" &&
		chmod 0644 "$T40_TAR/family.tar" || bail_out "cannot save the t40 family archive"
	tar -xOf "$T40_TAR/family.tar" manifest.json | grep -q '"Parent"' ||
		diag "docker save wrote no Parent: the next test proves little"
	$UD_DOCKER rmi t40-evil:1 local/busybox:evil udt-alice/t40-plain:1 >/dev/null 2>&1
	ud_as $A load -i "$T40_TAR/family.tar"
	is "$RUN_STATUS" 0 "load: an archive whose manifest names a Parent loads"
	like "$RUN_OUT" '^Loaded image: udt-alice/t40-plain:1$' "load: ... alice's image by its name"
	is "$($UD_DOCKER image inspect -f '{{.Parent}}' udt-alice/t40-plain:1)" "" \
		"load: ... without being linked under local/busybox (Parent dropped)"
	$UD_DOCKER rmi udt-alice/t40-plain:1 >/dev/null 2>&1
	ud_refused "load of a legacy archive (no manifest.json)" 77 \
		'^userdocker: load not allowed: the archive has no manifest.json' $A load -i "$T40_TAR/own/legacy.tar"
else
	skip "python3 is not installed" "load tricks (tests/tools/tar_tricks.py)"
fi
head -c 4096 "$A_HOME/t40-image.tar" >"$A_HOME/t40-cut.tar" && chown "$A:$A_GID" "$A_HOME/t40-cut.tar"
ud_refused "load of an archive cut short" 77 '^userdocker: load not allowed: the archive (is cut short|ends in the middle)' \
	$A load -i "$A_HOME/t40-cut.tar"
is "$($UD_DOCKER image inspect -f '{{.Id}}' local/busybox:latest)" "$bb_before" \
	"load tricks: local/busybox:latest is unchanged"
rm -rf "$T40_TAR" "$A_HOME"/t40-evil.tar* "$A_HOME/t40-trick.tar" "$A_HOME/t40-cut.tar"
$UD_DOCKER rmi t40-evil:1 local/busybox:evil >/dev/null 2>&1
ud_as $A load -i "$A_HOME"
isnt "$RUN_STATUS" 0 "load -i of a directory: fails"
like "$RUN_ERR" '.' "load -i of a directory: with a message"
run_forget

ud_refused "--cidfile" 77 '^userdocker: .*not allowed: .*--cidfile' \
	$A run --cidfile "$A_HOME/t40-cid" local/busybox true
ok_if "--cidfile: no file created" test ! -e "$A_HOME/t40-cid"
ud_config 'ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--cidfile"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--security-opt"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--use-api-socket"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--env-file"
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--label-file"'
ud_refused "--cidfile, even when the admin lists it" 77 '^userdocker: .*not allowed: .*--cidfile' \
	$A run --cidfile "$A_HOME/t40-cid" local/busybox true
ok_if "--cidfile listed: no file created" test ! -e "$A_HOME/t40-cid"
printf '{"defaultAction":"SCMP_ACT_ALLOW"}\n' >"$T40/seccomp.json"
chmod 0644 "$T40/seccomp.json"
for so in "seccomp=$T40/seccomp.json" "seccomp:$T40/seccomp.json" "seccomp=$T40/root/secret.env"; do
	ud_refused "--security-opt $so, even when the admin lists --security-opt" 77 \
		'^userdocker: .*not allowed: .*seccomp' $A run --security-opt "$so" local/busybox true
done
ud_refused "--use-api-socket, even when the admin lists it" '64|77' '^userdocker: .*use-api-socket' \
	$A run --use-api-socket local/busybox true
ud_refused "--use-api-socket=true, even when the admin lists it" '64|77' '^userdocker: .*use-api-socket' \
	$A run --use-api-socket=true local/busybox true
ud_refused "--env-file of a root-only file, when the admin lists --env-file" 64 \
	"^userdocker: cannot open $T40/root/secret\\.env.*Permission denied" \
	$A run --env-file "$T40/root/secret.env" local/busybox env
reset_config
rm -f "$A_HOME"/t40-*
run_forget

# --- docker's global options ----------------------------------------------------------------------

for g in "-H unix:///x" "--host=unix:///x" "--host unix:///x" "--config /tmp" "--config=/tmp" \
	"--context default" "-c default" "-D" "-l debug" "--log-level=debug" "--tls" "--tlsverify" \
	"--tlscacert=/etc/shadow" "--tlscert /x" "--tlskey=/x" "-v"; do
	# shellcheck disable=SC2086 # split the option from its value
	ud_refused "global option $g" 64 '^userdocker: ' $A $g ps
done
ud_refused "global option after the subcommand: ps -H unix:///x" 64 '^userdocker: ' $A ps -H unix:///x
run_forget

# --- who the container is: refused unless the admin lists them -------------------------------------

while IFS='|' read -r opt re; do
	[ -n "$opt" ] || continue
	# shellcheck disable=SC2086 # split the option from its value
	ud_refused "run $opt" 77 "^userdocker: .*not allowed: .*($re)" $A run $opt local/busybox true
done <<'EOF'
-u 0|-u|--user
--user=root|--user
--group-add 0|--group-add
--group-add=root|--group-add
--userns host|--userns
--privileged|--privileged
--cap-add ALL|--cap-add
--cap-add=SYS_ADMIN|--cap-add
--security-opt apparmor=unconfined|--security-opt
--security-opt seccomp=unconfined|--security-opt
--security-opt label=disable|--security-opt
--device /dev/null|--device
--device-cgroup-rule=a|--device-cgroup-rule
--gpus all|--gpus
--pid host|--pid
--ipc host|--ipc
--uts host|--uts
--network host|--network|--net
--net=host|--network|--net
--cgroupns host|--cgroupns
--cgroup-parent /|--cgroup-parent
--runtime runc|--runtime
--sysctl net.ipv4.ip_forward=1|--sysctl
--oom-kill-disable|--oom-kill-disable
--ulimit nofile=1048576|--ulimit
--add-host evil:127.0.0.1|--add-host
EOF
ud_refused "run -p 0.0.0.0:22:22" 77 '^userdocker: port mapping not allowed: 0\.0\.0\.0:22:22' \
	$A run -p 0.0.0.0:22:22 local/busybox true
run_forget

# --- EXEC_AS: the docker CLI as a service account, not root -------------------------------------
# A service account in a group that may use the test daemon's socket; an
# executor that logs who runs it, then runs docker.
UD_TEST_USERS="$UD_TEST_USERS udt-svc"
getent group udt-dock >/dev/null || groupadd -r udt-dock || bail_out "groupadd udt-dock failed"
getent passwd udt-svc >/dev/null || useradd -r -M -d /nonexistent -s /usr/sbin/nologin -G udt-dock udt-svc ||
	bail_out "useradd udt-svc failed"
sock_mode=$(stat -c '%a %U %G' "$UD_SOCK") dir_mode=$(stat -c '%a' "$UD_DAEMON_DIR")
chmod 0711 "$UD_DAEMON_DIR" && chgrp udt-dock "$UD_SOCK" && chmod 0660 "$UD_SOCK"
mkdir -p "$T40/exe" && chmod 0755 "$T40" "$T40/exe"
printf '#!/bin/sh
id -un >>%s/exe/who.log
exec /usr/bin/docker "$@"
' "$T40" >"$T40/exe/docker-as"
chmod 0755 "$T40/exe/docker-as"
: >"$T40/exe/who.log" && chmod 0666 "$T40/exe/who.log"
ud_config "EXECUTORS = { docker = \"$T40/exe/docker-as\" }
EXEC_AS = \"udt-svc\""
ud_as $A run local/busybox id -u
is "$RUN_STATUS:$RUN_OUT" "0:$A_UID" "EXEC_AS=udt-svc: the run works; the container runs as alice"
is "$(cat "$T40/exe/who.log")" "udt-svc" "EXEC_AS=udt-svc: the docker CLI ran as udt-svc, not root"
# (the home mount above is staged: root forks and waits; without mounts
# root executes docker directly)
ud_as $A run --no-default-mounts local/busybox echo direct
is "$RUN_STATUS:$RUN_OUT" "0:direct" "EXEC_AS=udt-svc: without staged mounts too"
is "$(tail -n 1 "$T40/exe/who.log")" "udt-svc" "EXEC_AS=udt-svc: ... the CLI still ran as udt-svc"
ud_config "EXECUTORS = { docker = \"$T40/exe/docker-as\" }
EXEC_AS = \"udt-nosuchaccount\""
ud_refused "EXEC_AS naming no account" 78 '^userdocker: EXEC_AS: no such account: udt-nosuchaccount$' \
	$A run local/busybox true
ud_config 'EXEC_AS = "../root"'
ud_refused "EXEC_AS that is not a user name" 78 '^userdocker: .*EXEC_AS: not a user name' $A run local/busybox true
reset_config
chmod "$dir_mode" "$UD_DAEMON_DIR"
chgrp "$(echo "$sock_mode" | cut -d' ' -f3)" "$UD_SOCK" && chmod "$(echo "$sock_mode" | cut -d' ' -f1)" "$UD_SOCK"
userdel udt-svc 2>/dev/null
groupdel udt-dock 2>/dev/null
UD_TEST_USERS=${UD_TEST_USERS% udt-svc}
run_forget

# --- clean up --------------------------------------------------------------------------------------

rm -rf "$T40" "$A_HOME"/t40-*
