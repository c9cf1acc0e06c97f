# shellcheck shell=bash
# The admin's tools: userdocker-policy check and test, and policy.d hooks.
policy_tool=$UD_PREFIX/sbin/userdocker-policy

run_cmd "$policy_tool" test "$UD_SRCDIR/tests/policy-fixture"
is "$RUN_STATUS" 0 "policy test: the fixture suite passes"
like "$RUN_OUT" '^1\.\.[0-9]+$' "policy test: prints a TAP plan"
is "$(grep -c '^ok ' <<<"$RUN_OUT")" "$(grep -cvE '^(#|$)' "$UD_SRCDIR/tests/policy-fixture/cases")" \
	"policy test: one ok line per case"

# A suite that expects the wrong thing fails, and says which case.
bad_suite=$(mktemp -d "$UD_TEST_BASE/suite.XXXXXX")
cp -r "$UD_SRCDIR/tests/policy-fixture/." "$bad_suite/"
printf 'alice allow -- run --privileged local/busybox id\n' >>"$bad_suite/cases"
run_cmd "$policy_tool" test "$bad_suite"
is "$RUN_STATUS" 1 "policy test: a wrong expectation fails the suite"
like "$RUN_OUT" '^not ok [0-9]+ - cases:[0-9]+: alice allow -- run --privileged' "policy test: ... naming the case"
like "$RUN_OUT" 'got: denied: run option not allowed: --privileged' "policy test: ... with what happened"
rm -rf "$bad_suite"

run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 0 "policy check: the base config loads for alice"

ud_config_file user/config_udt-alice.lua 'ARGS_AVAILABLE.run = {
	"--tty",
	x = = 1
}'
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: a syntax error fails"
like "$RUN_OUT" "^$UD_ETC/user/config_udt-alice.lua:3: " "policy check: ... with file:line"

ud_config_file user/config_udt-alice.lua 'local lab = nil
ALLOWED_IMAGE_REGEXPS = { lab.images }'
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: a runtime error fails"
like "$RUN_OUT" "^$UD_ETC/user/config_udt-alice.lua:2: attempt to index a nil value" \
	"policy check: ... with file:line"
run_cmd "$policy_tool" check --user udt-bob
is "$RUN_STATUS" 0 "policy check: bob does not load alice's file"

ud_config_file user/config_udt-alice.lua '-- a typo in a regexp
ALLOWED_IMAGE_REGEXPS = { "^[a" }'
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: an invalid regexp fails"
like "$RUN_OUT" "ALLOWED_IMAGE_REGEXPS: invalid regexp \\^\\[a: .*\\($UD_ETC/user/config_udt-alice.lua:2\\)" \
	"policy check: ... naming the setting and its file:line"
ud_config_file user/config_udt-alice.lua 'ALOWED_IMAGE_REGEXPS = { "^local/" }'
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: a misspelt setting fails"
like "$RUN_OUT" "ALOWED_IMAGE_REGEXPS: unknown setting \\($UD_ETC/user/config_udt-alice.lua:1\\)" \
	"policy check: ... with its file:line"
ud_config_file policy.d/50-typo.lua 'hooks.pul = function(request) end'
rm -f "$UD_ETC/user/config_udt-alice.lua"
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: a hook for a subcommand that does not exist fails"
like "$RUN_OUT" "$UD_ETC/policy.d/50-typo.lua: hooks.pul: no such subcommand" "policy check: ... naming the file"
rm -f "$UD_ETC/policy.d/50-typo.lua"

ud_config_file user/config_udt-alice.lua 'RUN_PULL = "sometimes"'
run_cmd "$policy_tool" check --user udt-alice
is "$RUN_STATUS" 1 "policy check: an invalid setting fails"
like "$RUN_OUT" 'RUN_PULL' "policy check: ... naming the setting"
reset_config

run_cmd as_user udt-alice "$policy_tool" check
is "$RUN_STATUS" 1 "policy check: refuses to run as a user"
like "$RUN_OUT" 'must be run as root' "policy check: ... and says why"

# policy.d hooks in the real thing
ud_config_file policy.d/10-name.lua 'hooks.run = function(request, caller)
	for _, o in ipairs(request.options) do
		if o.name == "--label" and o.value:find("^project=") then return end
	end
	deny("label your containers with project=NAME, " .. caller.user_name)
end'
ud_config 'ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-l", "--label" }'
ud_refused "policy.d: a hook refuses" 77 '^userdocker: label your containers with project=NAME, udt-alice$' \
	udt-alice run local/busybox id
ud_as udt-alice run -l project=x local/busybox id -u
is "$RUN_STATUS" 0 "policy.d: the hook lets a labelled run through"
is "$RUN_OUT" "$(id -u udt-alice)" "policy.d: ... which runs as alice"
ud_config_file policy.d/20-edit.lua 'hooks.run = function(request)
	request.options[#request.options + 1] = { name = "--env", value = "SITE=lab" }
end'
ud_as udt-alice run -l project=x local/busybox sh -c 'echo $SITE'
is "$RUN_OUT" "lab" "policy.d: a later hook edits the request (env added)"
ud_config_file policy.d/30-bad.lua 'hooks.run = function(request)
	request.options[#request.options + 1] = { name = "--label", value = "userdocker.owner.uid=0" }
end'
ud_refused "policy.d: root still refuses what a hook adds against its invariants" 77 \
	'^userdocker: label not allowed: userdocker.owner.uid=0' udt-alice run -l project=x local/busybox id
reset_config
rm -rf "${UD_ETC:?}/policy.d"

# --- the example policies in policies/ pass their own fixtures ----------------------
for p in "$UD_SRCDIR"/policies/*/; do
	p=${p%/}
	name=${p##*/}
	# A copy owned by root, as an admin would install it.
	tdir=$(mktemp -d "$UD_TEST_BASE/policy-example.XXXXXX")
	cp -r "$p/." "$tdir/" && chown -R root:root "$tdir" && chmod -R go-w "$tdir"
	run_cmd "$UD_PREFIX/sbin/userdocker-policy" test "$tdir"
	is "$RUN_STATUS" 0 "policies/$name: userdocker-policy test passes its fixture"
	unlike "$RUN_OUT" '^not ok' "policies/$name: ... no failing case"
	rm -rf "$tdir"
done

# --- userdocker --explain: the decision, rule by rule, with file:line ----------------
reset_config
ud_config '-- a lab config
ALLOWED_IMAGE_REGEXPS = { "^local/busybox" }
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-d", "--detach" }'
ud_config_file policy.d/10-note.lua 'hooks.run = function(request) end'
ud_mark
ud_as udt-alice --explain run -d local/busybox id
is "$RUN_STATUS" 0 "explain: an allowed request exits 0"
like "$RUN_OUT" '^/usr/bin/docker run .*--detach=true.* local/busybox:latest id$' \
	"explain: stdout is the command, as with --dry-run"
l_img=$((UD_CONFIG_PRELUDE_LINES + 2)) l_args=$((UD_CONFIG_PRELUDE_LINES + 3))
contains "$RUN_ERR" "userdocker: explain: config file $UD_CONFIG loaded" "explain: names each file loaded"
contains "$RUN_ERR" "userdocker: explain: option --detach: allowed by ARGS_AVAILABLE.run ($UD_CONFIG:$l_args)" \
	"explain: an option, with the setting and the file:line that allowed it"
contains "$RUN_ERR" "matches ^local/busybox in ALLOWED_IMAGE_REGEXPS ($UD_CONFIG:$l_img)" \
	"explain: the image, with the regexp and its file:line"
contains "$RUN_ERR" "added by VOLUME_MOUNTS_DEFAULT (built-in default)" "explain: a built-in default says so"
contains "$RUN_ERR" "policy.d hook hooks.run of $UD_ETC/policy.d/10-note.lua runs" "explain: the hooks that run"
contains "$RUN_ERR" "userdocker: explain: decision: allowed; the command (on stdout) is not run" \
	"explain: the decision"
ud_nothing_created "explain: nothing is run"
ud_mark
ud_as udt-alice --explain run --privileged local/busybox id
is "$RUN_STATUS" 77 "explain: a refused request exits 77"
contains "$RUN_ERR" "userdocker: explain: option --privileged: not in ARGS_AVAILABLE.run ($UD_CONFIG:$l_args)" \
	"explain: the refusing rule, with file:line"
contains "$RUN_ERR" "userdocker: explain: decision: refused" "explain: the decision"
like "$(printf '%s\n' "$RUN_ERR" | tail -n 1)" '^userdocker: run option not allowed: --privileged' \
	"explain: the usual one-line refusal comes last"
ud_nothing_created "explain: nothing is run when refused"
reset_config
rm -rf "${UD_ETC:?}/policy.d"
