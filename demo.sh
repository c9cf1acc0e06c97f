#!/bin/bash
# demo.sh - set up everything and run the main job, on a fresh Debian 12
# machine, as root:
#
#   1. install the build and runtime packages (apt-get);
#   2. build userdocker and install it setuid root into $PREFIX
#      (default /opt/userdocker-demo);
#   3. use the daemon named by DOCKER_SOCKET in $PREFIX/etc/userdocker/
#      config.lua when it answers, else start a private dockerd (own
#      data-root, exec-root and socket; never the system's) and write a
#      config.lua pointing at it;
#   4. create the unprivileged user "udemo" (if missing) and run, as that
#      user: userdocker run local/busybox id
#
#   ./demo.sh [--keep]     --keep leaves a private daemon running
#
# A private daemon is stopped again at the end unless --keep is given.
set -u -o pipefail

PREFIX=${PREFIX:-/opt/userdocker-demo}
DEMO_USER=${DEMO_USER:-udemo}
KEEP=
[ "${1-}" = --keep ] && KEEP=1

die() { echo "demo: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run me as root (I install a setuid binary and may start dockerd)"

SRC=$(cd "$(dirname "$0")" && pwd) || exit 1
cd "$SRC" || exit 1

echo "== 1. packages"
pkgs="build-essential autoconf automake libtool pkg-config liblua5.4-dev libpam0g-dev
      libcurl4-openssl-dev libjansson-dev docker.io busybox-static"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null ||
		die "apt-get install failed:$missing"
fi

echo "== 2. build and install into $PREFIX"
BUILD=$(mktemp -d /var/tmp/userdocker-demo-build.XXXXXX) || exit 1
trap 'rm -rf "$BUILD"' EXIT
cp -a "$SRC/." "$BUILD/" && cd "$BUILD" || exit 1
[ -f Makefile ] && make distclean >/dev/null 2>&1
{ autoreconf -fi && ./configure --prefix="$PREFIX" --sysconfdir="$PREFIX/etc" &&
	make -j2 && make install; } >"$BUILD.log" 2>&1 || { tail -30 "$BUILD.log"; die "build failed (log: $BUILD.log)"; }
rm -f "$BUILD.log"
cd "$SRC" || exit 1
ls -l "$PREFIX/bin/userdocker"

echo "== 3. docker daemon"
CONF=$PREFIX/etc/userdocker/config.lua
SOCK=
if [ -f "$CONF" ]; then
	SOCK=$(sed -n 's/^[[:space:]]*DOCKER_SOCKET[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$CONF" | tail -1)
fi
if [ -n "$SOCK" ] && docker -H "unix://$SOCK" version >/dev/null 2>&1; then
	echo "using the configured daemon at $SOCK"
	if ! docker -H "unix://$SOCK" image inspect local/busybox:latest >/dev/null 2>&1; then
		rootfs=$(mktemp -d /var/tmp/userdocker-demo-rootfs.XXXXXX) || exit 1
		mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" && cp /bin/busybox "$rootfs/bin/busybox" &&
			for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$rootfs/bin/$a"; done
		tar -C "$rootfs" -c . | docker -H "unix://$SOCK" import -c 'ENV PATH=/bin' - local/busybox:latest >/dev/null ||
			die "cannot import local/busybox into the configured daemon"
		rm -rf "$rootfs"
	fi
else
	export UD_TEST_BASE=/var/lib/userdocker-demo
	. "$SRC/tests/lib/daemon.sh"
	ud_daemon_start || die "could not start a private dockerd"
	if [ -z "$KEEP" ]; then
		trap 'ud_daemon_stop; rm -rf "$BUILD"' EXIT
	fi
	echo "started a private dockerd on $UD_SOCK (${UD_DAEMON_START_SECONDS}s)"
	# The daemon's directory is root-only; userdocker reaches it as root.
	# An admin's own config is kept aside, never silently lost.
	if [ -f "$CONF" ] && ! grep -q '^-- written by demo.sh' "$CONF"; then
		bak=$CONF.before-demo.$(date +%Y%m%d-%H%M%S)
		cp -p "$CONF" "$bak" && echo "your $CONF named no running daemon: kept as $bak"
	fi
	printf '%s\n' "-- written by demo.sh: the private daemon it started" \
		"DOCKER_SOCKET = \"$UD_SOCK\"" \
		"EXECUTORS = { docker = \"/usr/bin/docker\" }" >"$CONF"
	chmod 644 "$CONF"
fi

echo "== 4. the main job, as the unprivileged user $DEMO_USER"
id "$DEMO_USER" >/dev/null 2>&1 || useradd -m -s /bin/sh "$DEMO_USER" || die "useradd failed"
uid=$(id -u "$DEMO_USER") gid=$(id -g "$DEMO_USER")
home=$(getent passwd "$DEMO_USER" | cut -d: -f6)
echo "\$ userdocker run local/busybox id      (as $DEMO_USER, uid $uid gid $gid on the host)"
out=$(cd / && setpriv --reuid="$uid" --regid="$gid" --init-groups \
	env -i HOME="$home" USER="$DEMO_USER" PATH=/usr/bin:/bin \
	"$PREFIX/bin/userdocker" run local/busybox id)
rc=$?
echo "$out"
[ $rc = 0 ] || die "userdocker exited with status $rc"
case $out in
uid=$uid\ *gid=$gid*) echo "OK: host uid $uid -> container uid $uid, host gid $gid -> container gid $gid" ;;
*) die "the container did not run as $DEMO_USER ($uid:$gid)" ;;
esac
if [ -n "$KEEP" ] && [ -n "${UD_SOCK:-}" ]; then
	echo "the private daemon keeps running on $UD_SOCK (pid $(cat "$UD_DAEMON_DIR/docker.pid"))"
	echo "stop it with: kill \$(cat $UD_DAEMON_DIR/docker.pid)${UD_CONTAINERD_PID:+; kill $UD_CONTAINERD_PID}; sleep 2; rm -rf $UD_DAEMON_DIR"
elif [ -z "${SOCK:-}" ] || ! docker -H "unix://$SOCK" version >/dev/null 2>&1; then
	echo "the private daemon is stopped again; ./demo.sh --keep leaves it running for a tour"
fi
echo "next: export PATH=$PREFIX/bin:$PREFIX/sbin:\$PATH MANPATH=$PREFIX/share/man:\$MANPATH; man userdocker"
