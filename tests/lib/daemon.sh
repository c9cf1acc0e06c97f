# shellcheck shell=bash disable=SC2086 # $UD_DOCKER is a command line
# tests/lib/daemon.sh - a private docker daemon for the integration tests.
#
#   ud_daemon_start   start dockerd with its own data-root, exec-root,
#                     socket, pidfile, config file and log in a fresh
#                     directory; wait until it answers; import the test
#                     images; export UD_SOCK, UD_DOCKER, UD_DAEMON_DIR
#                     (UD_DOCKERD_FLAGS: extra dockerd options, e.g. --debug)
#   ud_daemon_stop    remove its containers, stop it (and its containerd
#                     and shims), unmount what it left, delete its
#                     directory; safe to call twice, and after a failed start
#
# The harness never talks to a daemon it did not start: every docker command
# gets -H unix://$UD_SOCK, and the system's /etc/docker/daemon.json is not
# read. The directory is root-only (0700), so test users cannot reach the
# socket except through userdocker.
#
# Defines ud_close_fds (below): the daemons inherit no fd of ours, so they
# cannot hold a test driver's pipe open or the harness's lock.
#
# Test images, all from one busybox-static root filesystem:
#   local/busybox:latest     no entrypoint, no command
#   local/entrypoint:latest  ENTRYPOINT ["echo","EP"], CMD ["default-cmd"]
#   local/other:latest       a separate import of the same rootfs

UD_TEST_BASE=${UD_TEST_BASE:-/var/lib/userdocker-test}
UD_DOCKER_CLI=${UD_DOCKER_CLI:-/usr/bin/docker}
UD_DAEMON_TIMEOUT=${UD_DAEMON_TIMEOUT:-60}
UD_DAEMON_DIR=
UD_DAEMON_PID=''
UD_CONTAINERD_PID=''
UD_DAEMON_CGROUP=''
UD_SYSTEM_CONTAINERD_SOCK=/run/containerd/containerd.sock

# Closes every fd above 2 (except those in UD_KEEP_FDS) in this shell, so
# that daemons and test users inherit none of ours (locks, pipes).
ud_close_fds() {
	local fd keep=" ${UD_KEEP_FDS:-} "
	for fd in /proc/$BASHPID/fd/*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] || continue
		case $keep in *" $fd "*) continue ;; esac
		eval "exec $fd>&-"
	done
}

_ud_daemon_log_tail() {
	[ -n "$UD_DAEMON_DIR" ] && [ -f "$UD_DAEMON_DIR/dockerd.log" ] || return 0
	echo "# last lines of $UD_DAEMON_DIR/dockerd.log:"
	tail -n 25 "$UD_DAEMON_DIR/dockerd.log" | sed 's/^/#   /'
}

_ud_have_pkg() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep 'install ok installed' >/dev/null
}

_ud_daemon_deps() {
	local -a missing=()
	_ud_have_pkg docker.io && command -v dockerd >/dev/null || missing+=(docker.io)
	# The images need a static busybox: it runs in an empty root.
	_ud_have_pkg busybox-static || missing+=(busybox-static)
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "# installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >&2; }
}

# True if PID is alive, not a zombie, and its command line mentions our
# directory: a pid read from a file is never trusted on its own.
_ud_is_ours() {
	local pid=$1 state
	[ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
	state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ] || return 1
	tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -F -- "$UD_DAEMON_DIR/" >/dev/null
}

# Send SIG, wait up to SECS for PID to go away, then SIGKILL it.
_ud_stop_pid() {
	local pid=$1 secs=$2 i
	_ud_is_ours "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 5; i++)); do
		_ud_is_ours "$pid" || break
		sleep 0.2
	done
	if _ud_is_ours "$pid"; then
		echo "# $pid did not stop within ${secs}s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null
		sleep 0.5
	fi
	wait "$pid" 2>/dev/null
	return 0
}

_ud_build_images() {
	local root=$UD_DAEMON_DIR/rootfs app
	mkdir -p "$root"/{bin,dev,etc,home,proc,root,sys,tmp} || return 1
	chmod 1777 "$root/tmp"
	chmod 0700 "$root/root"
	cp /bin/busybox "$root/bin/busybox" || return 1
	for app in $(/bin/busybox --list); do
		[ "$app" = busybox ] || ln -s busybox "$root/bin/$app"
	done
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
		'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$root/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
	_ud_import local/busybox:latest || return 1
	_ud_import local/other:latest || return 1
	_ud_import local/entrypoint:latest \
		-c 'ENTRYPOINT ["echo","EP"]' -c 'CMD ["default-cmd"]' || return 1
}

_ud_import() {
	local name=$1
	shift
	tar --numeric-owner -C "$UD_DAEMON_DIR/rootfs" -c . |
		$UD_DOCKER import "$@" - "$name" >/dev/null
}

ud_daemon_start() {
	local d t0 i pid
	t0=$(date +%s.%N)
	_ud_daemon_deps || { echo "# cannot install docker.io/busybox-static" >&2; return 1; }
	mkdir -p "$UD_TEST_BASE" && chown root:root "$UD_TEST_BASE" && chmod 0755 "$UD_TEST_BASE" || return 1
	UD_DAEMON_DIR=$(mktemp -d "$UD_TEST_BASE/dockerd.XXXXXX") || return 1
	d=$UD_DAEMON_DIR
	chmod 0700 "$d"
	mkdir -m 0700 "$d/data" "$d/exec"
	# An empty config file: /etc/docker/daemon.json must not apply here.
	echo '{}' >"$d/daemon.json"
	UD_SOCK=$d/docker.sock
	UD_DAEMON_CGROUP=userdocker-test.${d##*.}
	UD_DOCKER="$UD_DOCKER_CLI -H unix://$UD_SOCK"
	export UD_SOCK UD_DOCKER UD_DAEMON_DIR

	# A ctrl-c of the test run must not reach the daemons before the EXIT
	# trap has removed their containers: without job control a background
	# job shares our process group, so give each a session of its own.
	local -a ctd=() detach=()
	case $- in *m*) ;; *) detach=(setsid) ;; esac
	# dockerd 20.10 silently shares a running system containerd; give it
	# its own instead.
	if [ -S "$UD_SYSTEM_CONTAINERD_SOCK" ] || [ -n "${UD_OWN_CONTAINERD:-}" ]; then
		mkdir -m 0700 "$d/containerd" "$d/containerd/root" "$d/containerd/state"
		printf 'version = 2\nroot = "%s"\nstate = "%s"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s"\n' \
			"$d/containerd/root" "$d/containerd/state" "$d/containerd/containerd.sock" \
			>"$d/containerd/config.toml"
		(
			ud_close_fds
			exec "${detach[@]}" containerd --config "$d/containerd/config.toml" \
				</dev/null >"$d/containerd.log" 2>&1
		) &
		UD_CONTAINERD_PID=$!
		for ((i = 0; i < 50; i++)); do
			[ -S "$d/containerd/containerd.sock" ] && break
			sleep 0.2
		done
		ctd=(--containerd "$d/containerd/containerd.sock")
	fi

	(
		ud_close_fds
		exec "${detach[@]}" dockerd \
			--config-file "$d/daemon.json" \
			--data-root "$d/data" \
			--exec-root "$d/exec" \
			--pidfile "$d/docker.pid" \
			-H "unix://$UD_SOCK" \
			--storage-driver vfs \
			--bridge none \
			--iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
			--exec-opt native.cgroupdriver=cgroupfs \
			--cgroup-parent "/$UD_DAEMON_CGROUP" \
			--containerd-namespace userdocker-test \
			--containerd-plugins-namespace userdocker-test-plugins \
			"${ctd[@]}" ${UD_DOCKERD_FLAGS:-} \
			</dev/null >"$d/dockerd.log" 2>&1
	) &
	UD_DAEMON_PID=$!

	for ((i = 0; i < UD_DAEMON_TIMEOUT * 5; i++)); do
		if ! _ud_is_ours "$UD_DAEMON_PID"; then
			echo "# dockerd exited during startup" >&2
			_ud_daemon_log_tail >&2
			return 1
		fi
		$UD_DOCKER version >/dev/null 2>&1 && break
		sleep 0.2
	done
	if ! $UD_DOCKER version >/dev/null 2>&1; then
		echo "# dockerd did not answer on $UD_SOCK within ${UD_DAEMON_TIMEOUT}s" >&2
		_ud_daemon_log_tail >&2
		return 1
	fi
	pid=$(cat "$d/docker.pid" 2>/dev/null)
	[ "$pid" = "$UD_DAEMON_PID" ] || ! _ud_is_ours "$pid" || UD_DAEMON_PID=$pid
	if ! _ud_build_images; then
		echo "# building the test images failed" >&2
		_ud_daemon_log_tail >&2
		return 1
	fi
	UD_DAEMON_START_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	export UD_DAEMON_START_SECONDS
}

# Mount points at or under DIR, deepest first.
_ud_mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
		awk '{ print length($0) "\t" $0 }' | sort -rn | cut -f2-
}

# containerd shims (re-parented to init) serving our daemon's containers.
_ud_shim_pids() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep '^[^ ]*containerd-shim' >/dev/null || continue
		tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -F -- "$UD_DAEMON_DIR/" >/dev/null || continue
		echo "${p#/proc/}"
	done
}

ud_daemon_stop() {
	[ -n "$UD_DAEMON_DIR" ] && [ -d "$UD_DAEMON_DIR" ] || { UD_DAEMON_DIR=''; return 0; }
	local d=$UD_DAEMON_DIR pid ids m child
	[ -n "$UD_DAEMON_PID" ] || UD_DAEMON_PID=$(cat "$d/docker.pid" 2>/dev/null)

	if _ud_is_ours "$UD_DAEMON_PID" && [ -S "$d/docker.sock" ]; then
		ids=$($UD_DOCKER ps -aq 2>/dev/null)
		[ -z "$ids" ] || timeout 60 $UD_DOCKER rm -f -v $ids >/dev/null 2>&1 ||
			echo "# warning: could not remove containers $ids" >&2
	fi
	_ud_stop_pid "$UD_DAEMON_PID" 30
	_ud_stop_pid "$UD_CONTAINERD_PID" 15

	# Whatever survived its daemon: killing a container's init ends its
	# pid namespace, then the shim has nothing left to serve.
	local killed=''
	for pid in $(_ud_shim_pids); do
		for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
			kill -KILL "$child" 2>/dev/null
		done
		kill -KILL "$pid" 2>/dev/null
		killed=1
	done
	[ -z "$killed" ] || sleep 1

	# Containers killed above leave their (empty) cgroups behind.
	if [ -n "$UD_DAEMON_CGROUP" ]; then
		find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -depth -type d \
			-path "*/$UD_DAEMON_CGROUP*" -exec rmdir {} + 2>/dev/null
	fi

	for m in $(_ud_mounts_under "$d"); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null ||
			echo "# warning: could not unmount $m" >&2
	done
	if [ -n "$(_ud_mounts_under "$d")" ]; then
		echo "# warning: mounts left under $d, not deleting it:" >&2
		_ud_mounts_under "$d" | sed 's/^/#   /' >&2
		return 1
	fi
	rm -rf --one-file-system "$d"
	UD_DAEMON_DIR='' UD_DAEMON_PID='' UD_CONTAINERD_PID='' UD_DAEMON_CGROUP=''
	return 0
}
