# shellcheck shell=bash
# Containers belong to their users: one user cannot see, attach to, exec
# in, stop or remove another's containers, by name, id or id prefix.

ud_config 'ARGS_ALWAYS.run = {}
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { "-d", "--detach" }
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--name"'

ud_as udt-alice run -d --name alice-c local/busybox sleep 600
is "$RUN_STATUS" 0 "ownership: alice starts a detached container"
alice_id=$(printf '%s\n' "$RUN_OUT" | tail -n 1)
like "$alice_id" '^[0-9a-f]{64}$' "ownership: docker printed the full id"
ud_as udt-bob run -d --name bob-c local/busybox sleep 600
is "$RUN_STATUS" 0 "ownership: bob starts a detached container"
bob_id=$(printf '%s\n' "$RUN_OUT" | tail -n 1)

is "$(ud_inspect '{{index .Config.Labels "userdocker.owner.uid"}}' "$alice_id")" "$(id -u udt-alice)" \
	"ownership: alice's container carries her uid label"

ud_as udt-alice ps -q --no-trunc
is "$RUN_STATUS" 0 "ownership: alice's ps works"
contains "$RUN_OUT" "${alice_id:0:12}" "ownership: alice's ps lists her container"
unlike "$RUN_OUT" "${bob_id:0:12}" "ownership: alice's ps does not list bob's"

for ref in bob-c "$bob_id" "${bob_id:0:12}" "${bob_id:0:4}"; do
	for cmd in "stop" "kill" "rm -f" "logs" "inspect" "top" "port" "wait" "restart" "start"; do
		# shellcheck disable=SC2086 # cmd carries its own options
		ud_refused "ownership: alice cannot $cmd bob's container as ${ref:0:16}" 77 \
			"^userdocker: no such container of yours: ${ref:0:16}" udt-alice $cmd "$ref"
	done
	ud_refused "ownership: alice cannot exec in bob's container as ${ref:0:16}" 77 \
		'^userdocker: no such container of yours' udt-alice exec "$ref" id
	ud_refused "ownership: alice cannot attach to bob's container as ${ref:0:16}" 77 \
		'^userdocker: no such container of yours' udt-alice attach "$ref"
done
ud_refused "ownership: a container that does not exist gets the same answer" 77 \
	'^userdocker: no such container of yours: nosuchthing$' udt-alice stop nosuchthing
is "$($UD_DOCKER inspect -f '{{.State.Running}}' "$bob_id")" true "ownership: bob's container still runs"

ud_as udt-alice exec alice-c id -u
is "$RUN_STATUS" 0 "ownership: alice can exec in her own container"
is "$RUN_OUT" "$(id -u udt-alice)" "ownership: exec runs as alice"
ud_refused "ownership: exec -u 0 is refused" 77 'not allowed: --user' udt-alice exec -u 0 alice-c id
ud_refused "ownership: exec --privileged is refused" 77 'not allowed: --privileged' \
	udt-alice exec --privileged alice-c id

ud_as udt-alice logs "${alice_id:0:8}"
is "$RUN_STATUS" 0 "ownership: alice reads her logs by id prefix"
ud_as udt-alice inspect -f '{{.Id}}' alice-c
is "$RUN_OUT" "$alice_id" "ownership: inspect resolves her name to the full id"
ud_refused "ownership: top with ps options is refused" 77 '^userdocker: top options not allowed' \
	udt-alice top alice-c -ef

ud_as udt-alice stop -t 1 alice-c
is "$RUN_STATUS" 0 "ownership: alice stops her container"
is "$($UD_DOCKER inspect -f '{{.State.Running}}' "$alice_id")" false "ownership: it is stopped"
ud_refused "ownership: a stopped container with staged binds cannot be restarted" 77 \
	'bind mounts were checked for one run only' udt-alice start alice-c
ud_as udt-alice rm alice-c
is "$RUN_STATUS" 0 "ownership: alice removes her container"
ud_refused "ownership: bob cannot remove alice's removed container either" 77 \
	'^userdocker: no such container of yours' udt-bob rm "$alice_id"

ud_as udt-bob rm -f bob-c
is "$RUN_STATUS" 0 "ownership: bob removes his own container"

# Containers of the reference tool carry env marks only.
legacy=$($UD_DOCKER run -d -e USERDOCKER_UID="$(id -u udt-alice)" local/busybox sleep 600)
ud_as udt-alice stop -t 1 "${legacy:0:12}"
is "$RUN_STATUS" 0 "ownership: the reference's USERDOCKER_UID mark counts as ownership"
ud_refused "ownership: ... for its owner only" 77 '^userdocker: no such container of yours' \
	udt-bob rm "${legacy:0:12}"
$UD_DOCKER rm -f "$legacy" >/dev/null 2>&1
