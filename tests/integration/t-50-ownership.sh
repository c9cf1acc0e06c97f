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

# Marks that come with the image prove nothing: anyone can build an image
# with LABEL userdocker.owner.uid=... or ENV USERDOCKER_UID=..., and every
# container made from it (by root, by a service) would carry them.
alice_uid=$(id -u udt-alice)
_ud_import local/marked:latest -c "LABEL userdocker.owner.uid=$alice_uid" \
	-c "ENV USERDOCKER_UID=$alice_uid" || bail_out "cannot import local/marked"
rootjob=$($UD_DOCKER run -d --name t50-rootjob local/marked sleep 600)
is "$($UD_DOCKER inspect -f '{{index .Config.Labels "userdocker.owner.uid"}}' "$rootjob")" "$alice_uid" \
	"ownership: (setup) root's container inherited the image's owner label"
for sub in "exec t50-rootjob id" "logs t50-rootjob" "rm t50-rootjob" "kill t50-rootjob" \
	"inspect t50-rootjob"; do
	# shellcheck disable=SC2086 # split the words
	ud_refused "ownership: image-borne marks do not make root's container alice's: $sub" 77 \
		'^userdocker: no such container of yours: t50-rootjob$' udt-alice $sub
done
is "$($UD_DOCKER inspect -f '{{.State.Running}}' "$rootjob")" true "ownership: root's container still runs"
$UD_DOCKER rm -f "$rootjob" >/dev/null 2>&1
$UD_DOCKER rmi local/marked:latest >/dev/null 2>&1

# --- dockviz: the image tree, from the Engine API, nothing executed ---------------------
base=$($UD_DOCKER run -d --name t50-base local/busybox touch /t50-child) &&
	$UD_DOCKER wait "$base" >/dev/null && $UD_DOCKER commit t50-base local/t50-child:1 >/dev/null ||
	bail_out "cannot build local/t50-child"
$UD_DOCKER rm -f t50-base >/dev/null
bb=$($UD_DOCKER image inspect -f '{{.Id}}' local/busybox:latest)
child=$($UD_DOCKER image inspect -f '{{.Id}}' local/t50-child:1)
bb=${bb#sha256:} child=${child#sha256:}
ud_as udt-alice dockviz
is "$RUN_STATUS" 0 "dockviz: exit status 0"
like "$RUN_OUT" "^└─ ${bb:0:12}  [0-9.]+ [kMG]?B  .*local/busybox:latest" "dockviz: local/busybox is a root of the tree"
like "$RUN_OUT" "^   └─ ${child:0:12}  [0-9.]+ [kMG]?B  local/t50-child:1\$" \
	"dockviz: the committed image is indented under its parent"
ud_as udt-alice -n dockviz
like "$RUN_OUT" '^\(dockviz: the image tree from the Engine API' "dockviz: -n says what it would do"
ud_config 'ALLOWED_SUBCOMMANDS = { "run", "ps" }'
ud_refused "dockviz: refused when not in ALLOWED_SUBCOMMANDS" 77 '^userdocker: .*dockviz' udt-alice dockviz
reset_config
$UD_DOCKER rmi local/t50-child:1 >/dev/null 2>&1
