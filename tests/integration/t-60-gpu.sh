# shellcheck shell=bash disable=SC2086 # $UD_DOCKER is a command line
# t-60-gpu.sh - GPU reservation with the legacy executor mode, on real
# containers: the default choice (least used free GPU), NV_GPU, its
# validation, NV_ALLOWED_GPUS, NV_MAX_GPU_COUNT_RESERVATION, exclusivity
# between users, own reuse, the memory threshold, the GPU options a user
# may never pass, the marks of a container without GPUs, ps --gpu-used /
# --gpu-free / --gpu-used-mine, broken nvidia-smi programs (the GPU lock is
# released after each), and 20 concurrent runs that must never book one GPU
# twice.
#
# There are no GPUs here: fixture programs stand in for nvidia-smi (8 GPUs
# with known memory use, and broken ones) and for the nvidia-docker wrapper
# (it logs the NV_GPU it was given, then runs docker). They live in
# root-owned directories under $UD_PREFIX, as userdocker demands.
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).

A=udt-alice
B=udt-bob
A_UID=$UD_ALICE_UID
B_UID=$UD_BOB_UID

# --- fixtures -------------------------------------------------------------------

T60_FX=$UD_PREFIX/libexec/fixtures       # programs: root, 0755 all the way
T60_STATE=$UD_PREFIX/libexec/t60-state   # their logs: root-only
T60_EXE_LOG=$T60_STATE/executor.log
T60_SMI_LOG=$T60_STATE/smi.log
T60_LOCK=/run/userdocker/gpu.lock
T60_SMI_ARGS='--query-gpu=index,memory.used --format=csv,noheader,nounits'
rm -rf "$T60_FX" "$T60_STATE"
mkdir -p "$T60_FX" "$T60_STATE" &&
	chown root:root "$UD_PREFIX/libexec" "$T60_FX" "$T60_STATE" &&
	chmod 0755 "$UD_PREFIX/libexec" "$T60_FX" && chmod 0700 "$T60_STATE" &&
	: >"$T60_EXE_LOG" && : >"$T60_SMI_LOG" ||
	bail_out "cannot create the GPU fixtures under $UD_PREFIX/libexec"

# t60_program NAME BODY: $T60_FX/NAME, a root-owned 0755 sh script.
t60_program() {
	printf '#!/bin/sh\n%s\n' "$2" >"$T60_FX/$1" &&
		chown root:root "$T60_FX/$1" && chmod 0755 "$T60_FX/$1" ||
		bail_out "cannot write the fixture $T60_FX/$1"
}

# The nvidia-docker wrapper of the legacy mode: root gives it NV_GPU.
t60_program nvidia-docker "if [ \"\${NV_GPU+set}\" = set ]; then v=\"NV_GPU=\$NV_GPU\"; else v='NV_GPU unset'; fi
printf '%s\\n' \"\$v\" >>'$T60_EXE_LOG'
exec /usr/bin/docker \"\$@\""

# 8 GPUs; least used first: 5 (7 MiB), 3, 1, 7, 4, 0, 6, 2 (2048 MiB).
T60_MEM=(812 40 2048 15 300 7 1024 96)
t60_program smi-8 "printf '%s %s\\n' smi-8 \"\$*\" >>'$T60_SMI_LOG'
cat <<'EOF'
0, 812
1, 40
2, 2048
3, 15
4, 300
5, 7
6, 1024
7, 96
EOF"
# 8 idle GPUs, for the concurrency test.
t60_program smi-idle "printf '%s %s\\n' smi-idle \"\$*\" >>'$T60_SMI_LOG'
for i in 0 1 2 3 4 5 6 7; do echo \"\$i, 0\"; done"
t60_program smi-malformed "printf '0, 12\\nGPU 1: Tesla V100 (UUID: GPU-1234)\\n'"
t60_program smi-empty "exit 0"
t60_program smi-twice "printf '0, 12\\n1, 0\\n0, 12\\n'"
t60_program smi-exit1 "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'
exit 1"
# Hangs, and leaves a child that keeps the output pipe open: only the time
# limit can end the wait. The child's pid is kept so that it can be ended.
t60_program smi-hang "echo '0, 1'
sleep 30 &
echo \$! >>'$T60_STATE/hang.pids'
wait"
t60_program smi-bob "printf '0, 0\\n'"
chown "$B" "$T60_FX/smi-bob"

# t60_config LUA: -d allowed, no forced --rm, the fixture executor as
# nvidia-docker (legacy mode by default), smi-8, memory use ignored; then LUA.
t60_config() {
	ud_config "ARGS_ALWAYS.run = {}
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { \"-d\", \"--detach\" }
EXECUTORS[\"nvidia-docker\"] = \"$T60_FX/nvidia-docker\"
NVIDIA_SMI = \"$T60_FX/smi-8\"
NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = -1
${1-}" || bail_out "cannot write $UD_CONFIG"
}

t60_exe_lines() { wc -l <"$T60_EXE_LOG"; }
t60_smi_lines() { wc -l <"$T60_SMI_LOG"; }
t60_exe_last() { tail -n 1 "$T60_EXE_LOG"; }

t60_gpus_label() {
	ud_inspect '{{with index .Config.Labels "userdocker.gpus"}}{{.}}{{else}}(none){{end}}' "$1"
}
t60_env() {
	ud_inspect '{{range .Config.Env}}{{println .}}{{end}}' "$1"
}

# Remove the containers userdocker made (the daemon is this run's own).
t60_rm_all() {
	local ids
	ids=$($UD_DOCKER ps -aq --filter label=userdocker.owner.uid)
	[ -z "$ids" ] || $UD_DOCKER rm -f $ids >/dev/null 2>&1
}

# The GPU lock is free: a non-blocking flock on it succeeds.
t60_lock_free() {
	flock -n "$T60_LOCK" true
}

# t60_run USER VAR=v... -- ARGS...: a run that must work; T60_ID gets the
# container id (docker's last line of output).
T60_ID=''
t60_run() {
	local name=$1
	shift
	ud_as_env "$@"
	T60_ID=$(printf '%s\n' "$RUN_OUT" | tail -n 1)
	is "$RUN_STATUS" 0 "$name: exit status 0"
	like "$T60_ID" '^[0-9a-f]{64}$' "$name: docker printed the container id"
}

# t60_reserved NAME ID GPUS: the container and the executor show GPUS.
t60_reserved() {
	local name=$1 id=$2 gpus=$3 env
	env=$(t60_env "$id")
	is "$(t60_gpus_label "$id")" "$gpus" "$name: label userdocker.gpus=$gpus"
	like "$env" "^USERDOCKER_NV_GPU=$gpus\$" "$name: env USERDOCKER_NV_GPU=$gpus"
	unlike "$env" '^NVIDIA_VISIBLE_DEVICES=' "$name: no NVIDIA_VISIBLE_DEVICES (the wrapper's job)"
	is "$(t60_exe_last)" "NV_GPU=$gpus" "$name: the nvidia-docker wrapper got NV_GPU=$gpus"
	run_forget
}

# t60_no_gpus NAME ID: a container without a reservation.
t60_no_gpus() {
	local name=$1 id=$2 env
	env=$(t60_env "$id")
	is "$(t60_gpus_label "$id")" "(none)" "$name: no userdocker.gpus label"
	like "$env" '^NVIDIA_VISIBLE_DEVICES=none$' "$name: env NVIDIA_VISIBLE_DEVICES=none"
	is "$(printf '%s\n' "$env" | grep -c '^NVIDIA_VISIBLE_DEVICES=')" 1 \
		"$name: NVIDIA_VISIBLE_DEVICES set once"
	unlike "$env" '^USERDOCKER_NV_GPU=' "$name: no USERDOCKER_NV_GPU"
	run_forget
}

# t60_refused NAME STATUS ERE USER VAR=v... -- ARGS...: like ud_refused,
# with environment, and the executor did not run.
t60_refused() {
	local name=$1 status=$2 re=$3 before t0
	shift 3
	before=$(t60_exe_lines)
	ud_mark
	t0=$(date +%s.%N)
	ud_as_env "$@"
	T60_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	like "$RUN_STATUS" "^($status)\$" "$name: exit status $status"
	like "$RUN_ERR" "$re" "$name: message"
	is "$(printf '%s\n' "$RUN_ERR" | grep -c .)" 1 "$name: one line on stderr"
	is "$RUN_OUT" "" "$name: nothing on stdout"
	ud_nothing_created "$name: no container created"
	is "$(t60_exe_lines)" "$before" "$name: the executor did not run"
	run_forget
}

NVD=(--executor nvidia-docker run -d local/busybox sleep 600)
t60_rm_all

# --- the default reservation, NV_GPU, exclusivity between users -----------------

t60_config ''
t60_run "default reservation" $A -- "${NVD[@]}"
a_least=$T60_ID
t60_reserved "default reservation: the least used GPU" "$a_least" 5
is "$(tail -n 1 "$T60_SMI_LOG")" "smi-8 $T60_SMI_ARGS" "nvidia-smi is run with the documented query"

t60_run "NV_GPU=1,3" $A NV_GPU=1,3 -- --executor nvidia-docker run -d --no-default-mounts local/busybox sleep 600
a_13=$T60_ID
t60_reserved "NV_GPU=1,3: exactly 1,3" "$a_13" 1,3

t60_run "bob, default" $B -- "${NVD[@]}"
b_def=$T60_ID
t60_reserved "bob, default: the least used GPU nobody holds (7)" "$b_def" 7

t60_refused "bob: NV_GPU=5 (alice's)" 77 \
	'^userdocker: GPU not available: 5 \(in use by another container\)$' $B NV_GPU=5 -- "${NVD[@]}"
t60_refused "bob: NV_GPU=4,3 (3 is alice's)" 77 \
	'^userdocker: GPU not available: 3 ' $B NV_GPU=4,3 -- "${NVD[@]}"
t60_refused "alice: NV_GPU=7 (bob's)" 77 \
	'^userdocker: GPU not available: 7 \(in use by another container\)$' $A NV_GPU=7 -- "${NVD[@]}"

# --- ps GPU views ---------------------------------------------------------------

used="GPUs used by containers (users' uids):
GPU 1  40 MiB  used by: $A_UID
GPU 3  15 MiB  used by: $A_UID
GPU 5  7 MiB  used by: $A_UID
GPU 7  96 MiB  used by: $B_UID"
free="GPUs free for you (memory used):
GPU 0  812 MiB
GPU 2  2048 MiB
GPU 4  300 MiB
GPU 6  1024 MiB"
for u in $A $B; do
	ud_as $u ps --gpu-used
	is "$RUN_STATUS:$RUN_OUT" "0:$used" "ps --gpu-used as $u: who holds which GPU"
	ud_as $u ps --gpu-free
	is "$RUN_STATUS:$RUN_OUT" "0:$free" "ps --gpu-free as $u: the GPUs nobody holds"
done
ud_as $A ps --gpu-used-mine
is "$RUN_STATUS:$RUN_OUT" "0:GPUs used by your containers:
GPU 1  40 MiB  your containers: ${a_13:0:12}
GPU 3  15 MiB  your containers: ${a_13:0:12}
GPU 5  7 MiB  your containers: ${a_least:0:12}" "ps --gpu-used-mine as alice: her GPUs and containers"
ud_as $B ps --gpu-used-mine
is "$RUN_STATUS:$RUN_OUT" "0:GPUs used by your containers:
GPU 7  96 MiB  your containers: ${b_def:0:12}" "ps --gpu-used-mine as bob: his GPU and container"
ud_as $B ps --gpu-used --gpu-used-mine --gpu-free
is "$RUN_STATUS:$RUN_OUT" "0:$used
GPUs used by your containers:
GPU 7  96 MiB  your containers: ${b_def:0:12}
$free" "ps with the three views: all three sections"
run_forget

# --- own reuse --------------------------------------------------------------------

t60_run "alice: NV_GPU=5 again (her own GPU)" $A NV_GPU=5 -- "${NVD[@]}"
a_reuse=$T60_ID
t60_reserved "own reuse: GPU 5 shared with her own container" "$a_reuse" 5
ud_as $A ps --gpu-used-mine
like "$RUN_OUT" "^GPU 5  7 MiB  your containers: (${a_reuse:0:12}, ${a_least:0:12}|${a_least:0:12}, ${a_reuse:0:12})\$" \
	"ps --gpu-used-mine: both of her containers on GPU 5"
run_forget
t60_run "alice, default" $A -- "${NVD[@]}"
t60_reserved "default never reuses her own GPUs: the next least used (4)" "$T60_ID" 4
$UD_DOCKER rm -f "$T60_ID" >/dev/null

t60_config 'NV_ALLOW_OWN_GPU_REUSE = false'
t60_refused "NV_ALLOW_OWN_GPU_REUSE = false: alice's own GPU 5" 77 \
	'^userdocker: GPU not available: 5 \(in use by another container\)$' $A NV_GPU=5 -- "${NVD[@]}"

t60_config 'NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false'
t60_run "not exclusive: bob takes GPU 5" $B NV_GPU=5 -- "${NVD[@]}"
t60_reserved "not exclusive: bob on alice's GPU 5" "$T60_ID" 5
$UD_DOCKER rm -f "$T60_ID" >/dev/null
t60_config ''

# A stopped container holds nothing, and cannot be started again.
ud_as $A stop -t 1 "${a_13:0:12}"
is "$RUN_STATUS" 0 "alice stops her 1,3 container"
ud_as $A ps --gpu-free
like "$RUN_OUT" '^GPU 1  40 MiB$' "after stop: GPU 1 is free again"
like "$RUN_OUT" '^GPU 3  15 MiB$' "after stop: GPU 3 is free again"
ud_refused "a stopped GPU container cannot be started again" 77 \
	"^userdocker: cannot start ${a_13:0:12}: its GPU reservation was checked for one run only" \
	$A start "${a_13:0:12}"
t60_rm_all

# --- NV_GPU validation --------------------------------------------------------------

t60_config ''
smi_before=$(t60_smi_lines)
for bad in "1,1|GPU 1 is given twice" "0,3,0|GPU 0 is given twice" \
	"1 ,2|expected GPU indexes" " 1|expected GPU indexes" "-1|expected GPU indexes" \
	"a|expected GPU indexes" "01|expected GPU indexes" "1,|expected GPU indexes" \
	",1|expected GPU indexes" "+1|expected GPU indexes" "0x1|expected GPU indexes" \
	"all|expected GPU indexes" "9|there is no GPU 9" "8|there is no GPU 8" \
	"99999999999999999999|there is no GPU" "|empty; unset it for the default"; do
	v=${bad%%|*} why=${bad#*|}
	t60_refused "NV_GPU='$v'" 77 "^userdocker: NV_GPU not allowed: .*\\($why.*; allowed GPUs: 0, 1, 2, 3, 4, 5, 6, 7\\)\$" \
		$A "NV_GPU=$v" -- "${NVD[@]}"
done

t60_config 'NV_ALLOWED_GPUS = { 0, 1 }'
t60_refused "NV_ALLOWED_GPUS = {0,1}: NV_GPU=2" 77 \
	'^userdocker: NV_GPU not allowed: 2 \(GPU 2 is not allowed; allowed GPUs: 0, 1\)$' $A NV_GPU=2 -- "${NVD[@]}"
t60_refused "NV_ALLOWED_GPUS = {0,1}: NV_GPU=0,5" 77 \
	'^userdocker: NV_GPU not allowed: 0,5 \(GPU 5 is not allowed' $A NV_GPU=0,5 -- "${NVD[@]}"
ud_as $A ps --gpu-free
is "$RUN_OUT" "GPUs free for you (memory used):
GPU 0  812 MiB
GPU 1  40 MiB" "NV_ALLOWED_GPUS = {0,1}: ps --gpu-free shows only those"
t60_run "NV_ALLOWED_GPUS = {0,1}: default" $A -- "${NVD[@]}"
t60_reserved "NV_ALLOWED_GPUS = {0,1}: default picks the least used allowed GPU (1)" "$T60_ID" 1
t60_refused "NV_ALLOWED_GPUS = {0,1}: NV_GPU=1 (taken)" 77 \
	'^userdocker: GPU not available: 1 ' $B NV_GPU=1 -- "${NVD[@]}"
t60_run "NV_ALLOWED_GPUS = {0,1}: bob, default" $B -- "${NVD[@]}"
t60_reserved "NV_ALLOWED_GPUS = {0,1}: bob gets the other one (0)" "$T60_ID" 0
t60_refused "NV_ALLOWED_GPUS = {0,1}: nothing left" 77 \
	'^userdocker: not enough free GPUs: wanted 1 \(free: none\)$' $B -- "${NVD[@]}"
t60_rm_all

t60_config 'NV_MAX_GPU_COUNT_RESERVATION = 1'
t60_refused "NV_MAX_GPU_COUNT_RESERVATION = 1: NV_GPU=0,1" 77 \
	'^userdocker: NV_GPU not allowed: 0,1 \(2 GPUs requested, at most 1 allowed' $A NV_GPU=0,1 -- "${NVD[@]}"
t60_run "NV_MAX_GPU_COUNT_RESERVATION = 1: NV_GPU=6" $A NV_GPU=6 -- "${NVD[@]}"
t60_reserved "NV_MAX_GPU_COUNT_RESERVATION = 1: one GPU is fine" "$T60_ID" 6
t60_rm_all

t60_config ''
t60_run "NV_GPU=3,1 (descending)" $A NV_GPU=3,1 -- "${NVD[@]}"
t60_reserved "NV_GPU=3,1: reserved and passed on ascending" "$T60_ID" 1,3
t60_rm_all

t60_config 'NV_DEFAULT_GPU_COUNT_RESERVATION = 3'
t60_run "NV_DEFAULT_GPU_COUNT_RESERVATION = 3" $A -- "${NVD[@]}"
t60_reserved "NV_DEFAULT_GPU_COUNT_RESERVATION = 3: the three least used" "$T60_ID" 1,3,5
t60_rm_all

# No GPU to reserve: nvidia-smi is not even asked (a missing one is fine).
t60_config "NV_DEFAULT_GPU_COUNT_RESERVATION = 0
NVIDIA_SMI = \"$T60_FX/no-such-smi\""
t60_run "NV_DEFAULT_GPU_COUNT_RESERVATION = 0" $A -- "${NVD[@]}"
t60_no_gpus "NV_DEFAULT_GPU_COUNT_RESERVATION = 0: no GPU" "$T60_ID"
is "$(t60_exe_last)" "NV_GPU unset" "NV_DEFAULT_GPU_COUNT_RESERVATION = 0: the wrapper gets no NV_GPU"
t60_rm_all

# --- the memory threshold -------------------------------------------------------------

t60_config 'NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 100'
ud_as $B ps --gpu-free
is "$RUN_OUT" "GPUs free for you (memory used):
GPU 1  40 MiB
GPU 3  15 MiB
GPU 5  7 MiB
GPU 7  96 MiB" "threshold 100 MiB: ps --gpu-free shows the GPUs using at most 100 MiB"
t60_refused "threshold 100 MiB: NV_GPU=0 (812 MiB)" 77 \
	'^userdocker: GPU not available: 0 \(memory used 812 MiB > 100\)$' $A NV_GPU=0 -- "${NVD[@]}"
t60_refused "threshold 100 MiB: NV_GPU=7,4 (4 uses 300 MiB)" 77 \
	'^userdocker: GPU not available: 4 \(memory used 300 MiB > 100\)$' $A NV_GPU=7,4 -- "${NVD[@]}"
t60_run "threshold 100 MiB: NV_GPU=7 (96 MiB)" $A NV_GPU=7 -- "${NVD[@]}"
t60_reserved "threshold 100 MiB: GPU 7 is below it" "$T60_ID" 7
t60_rm_all
t60_config 'NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0'
t60_refused "threshold 0 (the default): every GPU of smi-8 uses memory" 77 \
	'^userdocker: not enough free GPUs: wanted 1 \(free: none\)$' $A -- "${NVD[@]}"
t60_refused "threshold 0: NV_GPU=5 (7 MiB)" 77 \
	'^userdocker: GPU not available: 5 \(memory used 7 MiB > 0\)$' $A NV_GPU=5 -- "${NVD[@]}"

# --- GPU options the user may never pass ------------------------------------------------

smi_before=$(t60_smi_lines)
t60_config ''
t60_refused "nvidia-docker: --gpus all (not in ARGS_AVAILABLE)" 77 '^userdocker: run option not allowed: --gpus' \
	$A -- --executor nvidia-docker run -d --gpus all local/busybox true
t60_config 'for _, o in ipairs({ "--gpus", "--runtime", "--device", { "-e", "--env" } }) do
	ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = o
end'
t60_refused "nvidia-docker: --gpus all (even when listed)" 77 \
	'^userdocker: run option not allowed: --gpus=all \(GPUs are reserved by userdocker' \
	$A -- --executor nvidia-docker run -d --gpus all local/busybox true
t60_refused "nvidia-docker: --gpus device=1" 77 '^userdocker: run option not allowed: --gpus=device=1 ' \
	$A -- --executor nvidia-docker run -d --gpus device=1 local/busybox true
t60_refused "nvidia-docker: --runtime nvidia" 77 '^userdocker: run option not allowed: --runtime=nvidia ' \
	$A -- --executor nvidia-docker run -d --runtime nvidia local/busybox true
t60_refused "nvidia-docker: --runtime=runc" 77 '^userdocker: run option not allowed: --runtime=runc ' \
	$A -- --executor nvidia-docker run -d --runtime=runc local/busybox true
for e in NVIDIA_VISIBLE_DEVICES=all NVIDIA_VISIBLE_DEVICES=none CUDA_VISIBLE_DEVICES=0 NV_GPU=1 \
	NVIDIA_DRIVER_CAPABILITIES=all; do
	t60_refused "nvidia-docker: -e $e" 77 "^userdocker: env not allowed: $e \\(GPUs are assigned by userdocker" \
		$A -- --executor nvidia-docker run -d -e "$e" local/busybox true
	t60_refused "docker: -e $e" 77 "^userdocker: env not allowed: $e " \
		$A -- run -d -e "$e" local/busybox true
done
t60_refused "nvidia-docker: --device /dev/nvidia0" 77 \
	'^userdocker: option not allowed: --device=/dev/nvidia0 \(GPUs come from the reservation\)$' \
	$A -- --executor nvidia-docker run -d --device /dev/nvidia0 local/busybox true
# The wrapper's own checks, whatever the policy says.
t60_refused "docker: --gpus all (listed in ARGS_AVAILABLE)" 77 \
	'^userdocker: option not allowed: --gpus=all \(GPUs come from the reservation: none\)$' \
	$A -- run -d --gpus all local/busybox true
t60_refused "docker: --runtime nvidia (listed in ARGS_AVAILABLE)" 77 \
	'^userdocker: option not allowed: --runtime=nvidia \(no GPUs reserved\)$' \
	$A -- run -d --runtime nvidia local/busybox true
for dev in /dev/nvidia0 /dev/nvidiactl /dev/nvidia-uvm /dev/nvidia0:/dev/nvidia0:rwm; do
	t60_refused "docker: --device $dev (listed in ARGS_AVAILABLE)" 77 \
		"^userdocker: option not allowed: --device=$dev \\(GPUs come from the reservation\\)\$" \
		$A -- run -d --device "$dev" local/busybox true
done
t60_config 'ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = "--device=/dev/nvidia0"'
t60_refused "nvidia-docker: --device=/dev/nvidia0 listed exactly: still never passed" 77 \
	'^userdocker: option not allowed: --device=/dev/nvidia0 \(GPUs come from the reservation\)$' \
	$A -- --executor nvidia-docker run -d --device /dev/nvidia0 local/busybox true
is "$(t60_smi_lines)" "$smi_before" "GPU option refusals: nvidia-smi was never run"

# ARGS_ALWAYS may not force them for the GPU executor.
t60_config 'ARGS_ALWAYS.run = { "--runtime=runc" }'
t60_refused "ARGS_ALWAYS.run --runtime with the GPU executor: a config error" 78 \
	'ARGS_ALWAYS\.run.*--runtime cannot be forced for the GPU executor' \
	$A -- --executor nvidia-docker run -d local/busybox true

# --- plain docker: no GPUs, whatever NV_GPU says --------------------------------------

t60_config "EXECUTORS.logged = \"$T60_FX/nvidia-docker\""
smi_before=$(t60_smi_lines)
t60_run "docker executor" $A -- run -d local/busybox sleep 600
t60_no_gpus "docker executor" "$T60_ID"
t60_run "docker executor, NV_GPU=1 in the environment" $A NV_GPU=1 -- run -d local/busybox sleep 600
t60_no_gpus "docker executor, NV_GPU=1 ignored" "$T60_ID"
t60_run "executor without a GPU mode, NV_GPU=1,3 in the environment" $A NV_GPU=1,3 -- \
	--executor logged run -d local/busybox sleep 600
t60_no_gpus "executor without a GPU mode" "$T60_ID"
is "$(t60_exe_last)" "NV_GPU unset" "executor without a GPU mode: the user's NV_GPU does not reach it"
is "$(t60_smi_lines)" "$smi_before" "runs without a GPU executor never run nvidia-smi"
ud_as $A ps --gpu-used
is "$RUN_STATUS:$RUN_OUT" "0:GPUs used by containers (users' uids):
none" "ps --gpu-used: containers without GPUs hold none"
run_forget
t60_rm_all

# --- broken nvidia-smi -----------------------------------------------------------------

# t60_broken NAME SMI STATUS ERE [MAX_SECONDS]
t60_broken() {
	local name=$1 smi=$2 status=$3 re=$4 max=${5:-5}
	t60_config "NVIDIA_SMI = \"$smi\""
	t60_refused "$name" "$status" "$re" $A -- "${NVD[@]}"
	ok_if "$name: over in ${T60_SECS}s (at most ${max}s)" \
		awk -v s="$T60_SECS" -v m="$max" 'BEGIN { exit !(s <= m) }'
	ok_if "$name: the GPU lock is free afterwards" t60_lock_free
	ud_refused "$name: ps --gpu-free fails the same way" "$status" "$re" $A ps --gpu-free
}
t60_broken "nvidia-smi malformed" "$T60_FX/smi-malformed" 70 \
	"^userdocker: .*smi-malformed: unexpected output on line 2 "
t60_broken "nvidia-smi with no output" "$T60_FX/smi-empty" 70 "^userdocker: .*smi-empty reported no GPUs"
t60_broken "nvidia-smi listing a GPU twice" "$T60_FX/smi-twice" 70 "^userdocker: .*smi-twice: GPU 0 listed twice"
t60_broken "nvidia-smi exits 1" "$T60_FX/smi-exit1" 70 "^userdocker: .*smi-exit1 failed \\(status 1\\)"
t60_broken "nvidia-smi missing" "$T60_FX/no-such-smi" '70|78' "^userdocker: .*no-such-smi"
t60_broken "nvidia-smi owned by bob" "$T60_FX/smi-bob" 78 \
	"^userdocker: .*smi-bob must be a root-owned executable"
t60_broken "nvidia-smi hangs" "$T60_FX/smi-hang" 70 \
	"^userdocker: .*smi-hang did not answer within 10 s" 12
# The fixture's sleeps outlive it (they are its children, not userdocker's).
for pid in $(cat "$T60_STATE/hang.pids" 2>/dev/null); do
	kill "$pid" 2>/dev/null
done

t60_config ''
t0=$(date +%s)
t60_run "after the broken nvidia-smi programs: a good run" $A -- "${NVD[@]}"
t60_reserved "after the broken nvidia-smi programs" "$T60_ID" 5
ok_if "after the broken nvidia-smi programs: no wait for the lock" test $(($(date +%s) - t0)) -le 10
t60_rm_all

# --- concurrency: 20 runs, 8 idle GPUs --------------------------------------------------

t60_config "NVIDIA_SMI = \"$T60_FX/smi-idle\"
NV_GPU_UNAVAILABLE_ABOVE_MEMORY_USED = 0"
T60_PAR=$TAP_TMPDIR/t60-par
rm -rf "$T60_PAR" && mkdir -m 0700 "$T60_PAR"
exe_before=$(t60_exe_lines)
ud_mark
t0=$(date +%s.%N)
pids=()
for i in $(seq 1 20); do
	u=$A
	((i % 2)) || u=$B
	(
		as_user "$u" "$UD_BIN" "${NVD[@]}" >"$T60_PAR/$i.out" 2>"$T60_PAR/$i.err" </dev/null
		echo $? >"$T60_PAR/$i.rc"
	) &
	pids+=($!)
done
wait "${pids[@]}"
secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')

S=0 R=0 other=()
ok_ids=()
for i in $(seq 1 20); do
	rc=$(cat "$T60_PAR/$i.rc" 2>/dev/null)
	out=$(cat "$T60_PAR/$i.out" 2>/dev/null)
	err=$(cat "$T60_PAR/$i.err" 2>/dev/null)
	if [ "$rc" = 0 ] && [[ $out =~ ^[0-9a-f]{64}$ ]] && [ -z "$err" ]; then
		S=$((S + 1))
		ok_ids+=("$out")
	elif [ "$rc" = 77 ] && [ -z "$out" ] &&
		[[ $err =~ ^userdocker:\ not\ enough\ free\ GPUs:\ wanted\ 1\ \(free:\ none\)$ ]]; then
		R=$((R + 1))
	else
		other+=("run $i: status ${rc:-?}, stdout '${out:0:80}', stderr '${err:0:200}'")
	fi
done
created=$(ud_created | sort -u)
n_created=$(printf '%s\n' "$created" | grep -c .)
# Every GPU held by the running containers, once per holder.
held=$(for id in $($UD_DOCKER ps -q --no-trunc --filter label=userdocker.gpus); do
	t60_gpus_label "$id" | tr ',' '\n'
done | sort -n)
labels=$(for id in $created; do t60_gpus_label "$id"; done | sort -n)
D=$(printf '%s\n' "$labels" | grep . | uniq -d | wc -l)
diag "gpu concurrency: 20 runs, $S started, $R refused, $D double-booked (${secs}s)"
is "${#other[@]}" 0 "concurrency: every run either started or was refused as 'not enough free GPUs' (77)"
for o in "${other[@]}"; do diag "  $o"; done
is "$S" 8 "concurrency: 8 runs started (one per GPU)"
is "$R" 12 "concurrency: 12 runs refused"
is "$D" 0 "concurrency: no GPU double-booked"
is "$n_created" "$S" "concurrency: as many containers created as runs started"
is "$(printf '%s\n' "$labels" | tr '\n' ' ')" "0 1 2 3 4 5 6 7 " \
	"concurrency: the created containers hold GPUs 0..7, one each"
is "$(printf '%s\n' "$held" | tr '\n' ' ')" "0 1 2 3 4 5 6 7 " \
	"concurrency: the running containers hold GPUs 0..7, one each"
is "$(printf '%s\n' "${ok_ids[@]}" | sort | tr '\n' ' ')" "$(printf '%s\n' $created | sort | tr '\n' ' ')" \
	"concurrency: the ids printed are the containers created"
is "$(($(t60_exe_lines) - exe_before))" "$S" "concurrency: the wrapper ran once per started container"
is "$(tail -n +$((exe_before + 1)) "$T60_EXE_LOG" | sed 's/^NV_GPU=//' | sort -n | tr '\n' ' ')" \
	"$(printf '%s\n' "$labels" | tr '\n' ' ')" "concurrency: the wrapper got the NV_GPU of each label"
for id in $created; do
	l=$(t60_gpus_label "$id")
	if ! t60_env "$id" | grep -x "USERDOCKER_NV_GPU=$l" >/dev/null; then
		not_ok "concurrency: container ${id:0:12} has USERDOCKER_NV_GPU=$l"
	fi
done
ud_as $A ps --gpu-free
is "$RUN_OUT" "GPUs free for you (memory used):
none" "concurrency: ps --gpu-free shows none left"
ok_if "concurrency: the GPU lock is free afterwards" t60_lock_free
run_forget

ids=$($UD_DOCKER ps -aq)
[ -z "$ids" ] || $UD_DOCKER rm -f $ids >/dev/null 2>&1
is "$($UD_DOCKER ps -aq | wc -l)" 0 "all containers removed"
