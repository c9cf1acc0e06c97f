#!/bin/bash
# bench/bench.sh - how long userdocker's questions take, next to plain
# `docker ps` on the same daemon.  Prints figures; asserts nothing.
#
#   sudo bench/bench.sh [REPEATS]        (default 15 repeats per figure)
#
# Builds and installs userdocker setuid into a throwaway root-owned prefix,
# starts a private dockerd (tests/lib/daemon.sh), creates the test users,
# then for 0, 20 and 100 running containers prints the median wall time of
#   docker ps                         (root, the plain CLI)
#   userdocker ps                     (as an unprivileged user)
#   userdocker ps --gpu-used          (fixture nvidia-smi with 8 GPUs)
#   userdocker ps --gpu-free
#   userdocker -n run local/busybox true   (the whole decision path)
# and the number of Engine API requests one `ps --gpu-used` makes (from
# the daemon's debug log), which must not grow with the container count.
set -u -o pipefail
REPEATS=${1:-15}

[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
# The test users are shared with the integration tests: one at a time.
exec {lock_fd}>>/run/userdocker-integration.lock || exit 1
flock -w 1800 "$lock_fd" || { echo "bench: an integration run holds the lock" >&2; exit 1; }
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
export UD_SRCDIR=${UD_SRCDIR:-$(cd "$BENCH_DIR/.." && pwd)}
. "$UD_SRCDIR/tests/lib/tap.sh"
. "$UD_SRCDIR/tests/lib/users.sh"
. "$UD_SRCDIR/tests/lib/daemon.sh"
. "$UD_SRCDIR/tests/lib/install.sh"

cleanup() {
	ud_daemon_stop
	ud_users_remove
	ud_install_cleanup
}
trap cleanup EXIT

echo "# building and installing userdocker..." >&2
ud_install >/dev/null || { echo "bench: build failed" >&2; exit 1; }
UD_DOCKERD_FLAGS=--debug ud_daemon_start || { echo "bench: no daemon" >&2; exit 1; }
ud_users_create || exit 1

fixtures=$UD_PREFIX/libexec/bench
mkdir -p "$fixtures" && chmod 755 "$UD_PREFIX/libexec" "$fixtures"
cat >"$fixtures/nvidia-smi" <<'EOF'
#!/bin/sh
for i in 0 1 2 3 4 5 6 7; do echo "$i, $((i * 100))"; done
EOF
printf '#!/bin/sh\nexec /usr/bin/docker "$@"\n' >"$fixtures/nvidia-docker"
chmod 755 "$fixtures/nvidia-smi" "$fixtures/nvidia-docker"
ud_config "
EXECUTORS = { docker = \"/usr/bin/docker\", [\"nvidia-docker\"] = \"$fixtures/nvidia-docker\" }
NVIDIA_SMI = \"$fixtures/nvidia-smi\"
NV_EXCLUSIVE_CONTAINER_GPU_RESERVATION = false
"

uid=$(id -u udt-alice)

# Median wall time in milliseconds of REPEATS runs of "$@".
median_ms() {
	local -a t=()
	local i s e
	for ((i = 0; i < REPEATS; i++)); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s%N)
		t+=($(((e - s) / 1000)))
	done
	printf '%s\n' "${t[@]}" | sort -n | awk '{ a[NR] = $1 } END {
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.1f", m / 1000 }'
}

# The least it takes to run something as alice (no test-harness wrapper):
# its own cost is printed below, and is part of every userdocker figure.
gid=$(id -g udt-alice) home=$(getent passwd udt-alice | cut -d: -f6)
as_alice() {
	(cd / && setpriv --reuid="$uid" --regid="$gid" --init-groups \
		env -i HOME="$home" USER=udt-alice PATH=/usr/bin:/bin "$UD_BIN" "$@")
}
switch_only() {
	(cd / && setpriv --reuid="$uid" --regid="$gid" --init-groups env -i /bin/true)
}

# API requests the daemon logged while "$@" ran (dockerd --debug logs one
# "Calling GET ..." line per request).
api_calls() {
	local log=$UD_DAEMON_DIR/dockerd.log before
	before=$(grep -c 'Calling ' "$log")
	"$@" >/dev/null 2>&1
	sleep 0.2
	echo $(($(grep -c 'Calling ' "$log") - before))
}

running=0
grow_to() {
	local want=$1
	while ((running < want)); do
		$UD_DOCKER run -d --network none \
			--label userdocker.owner.uid="$uid" --label userdocker.owner.name=udt-alice \
			--label userdocker.gpus=$((running % 8)) \
			local/busybox:latest sleep 36000 >/dev/null || { echo "bench: cannot start containers" >&2; exit 1; }
		running=$((running + 1))
	done
}

printf '%-12s %10s %14s %12s %12s %12s %14s\n' containers "docker ps" "userdocker ps" "--gpu-used" "--gpu-free" "-n run" "API calls/gpu"
for n in 0 20 100; do
	grow_to "$n"
	dps=$(median_ms $UD_DOCKER ps)
	ups=$(median_ms as_alice ps)
	gused=$(median_ms as_alice ps --gpu-used)
	gfree=$(median_ms as_alice ps --gpu-free)
	nrun=$(median_ms as_alice -n run local/busybox true)
	calls=$(api_calls as_alice ps --gpu-used)
	printf '%-12s %8s ms %12s ms %9s ms %9s ms %9s ms %14s\n' "$n" "$dps" "$ups" "$gused" "$gfree" "$nrun" "$calls"
done
echo "# becoming alice alone (setpriv, env): $(median_ms switch_only) ms, included in the userdocker figures"
echo "# medians of $REPEATS runs; targets: ps --gpu-used/--gpu-free below docker ps at 100 containers, ps within 5% of docker ps, API calls constant"
