# shellcheck shell=bash disable=SC2034 # used by the test files
# tests/lib/install.sh - build and install userdocker into a throwaway prefix.
#
#   ud_install                 copy the source tree ($UD_SRCDIR) to a temp
#                              dir, configure it with --prefix=P
#                              --sysconfdir=P/etc, make, make install;
#                              exports UD_PREFIX, UD_BIN, UD_ETC, UD_CONFIG
#   ud_install_cleanup         delete the prefix and the build dir; safe to
#                              call twice
#   ud_config 'LUA'            write $UD_ETC/config.lua (root:root 0644): the
#                              test daemon's DOCKER_SOCKET and the docker
#                              EXECUTORS line, then LUA
#   ud_config_file REL 'LUA'   write $UD_ETC/REL (group/..., user/..., ...)
#   ud_pam_service 'RULES'     the test build's PAM service file
#                              (/etc/pam.d/$UD_PAM_SERVICE)
#   reset_config               back to the base config: pam_permit, ud_config '' and no
#                              group/gid/user/uid files
#
# The prefix lives under $UD_TEST_BASE (default /var/lib/userdocker-test),
# whose every ancestor is root-owned and not group/other-writable: userdocker
# refuses configuration in a tree a user could write to, so not /tmp.
#
# The build happens in a copy because the source tree may already be
# configured in place (CI runs ./configure && make check there), and
# automake refuses a VPATH build from a configured tree. Extra configure
# arguments can be given in UD_CONFIGURE_FLAGS.

UD_TEST_BASE=${UD_TEST_BASE:-/var/lib/userdocker-test}
UD_PREFIX='' UD_BIN='' UD_ETC='' UD_CONFIG='' UD_BUILD_DIR=''
# Lines ud_config writes before the test's text: a Lua error on line N of
# that text is reported on line N + UD_CONFIG_PRELUDE_LINES of config.lua.
UD_CONFIG_PRELUDE_LINES=2
UD_EXECUTOR=/usr/bin/docker
# The PAM service the test build checks accounts with (configure
# --with-pam-service); one per machine, like the test users.
UD_PAM_SERVICE=${UD_PAM_SERVICE:-userdocker-itest}
# The test build sends its audit records here (configure
# --with-syslog-socket); t-80-audit binds a listener on it.
UD_SYSLOG_SOCKET=${UD_SYSLOG_SOCKET:-/run/userdocker-itest-syslog.sock}

# Every directory from PATH up to / must be root-owned and not writable by
# group or other.
_ud_path_is_root_only() {
	local p=$1 owner mode
	while :; do
		read -r owner mode < <(stat -c '%u %a' "$p") || return 1
		if [ "$owner" != 0 ] || (((8#$mode & 8#022) != 0)); then
			echo "# $p is not root-owned or is group/other-writable ($owner, $mode)" >&2
			return 1
		fi
		[ "$p" = / ] && return 0
		p=$(dirname "$p")
	done
}

ud_install() {
	local src=${UD_SRCDIR:-} t0 rc
	if [ -z "$src" ] || [ ! -f "$src/configure.ac" ]; then
		echo "# ud_install: UD_SRCDIR ('$src') is not the userdocker source tree" >&2
		return 1
	fi
	t0=$(date +%s)
	mkdir -p "$UD_TEST_BASE" && chown root:root "$UD_TEST_BASE" && chmod 0755 "$UD_TEST_BASE" || return 1
	_ud_path_is_root_only "$UD_TEST_BASE" || return 1
	UD_BUILD_DIR=$(mktemp -d "$UD_TEST_BASE/build.XXXXXX") || return 1
	UD_PREFIX=$(mktemp -d "$UD_TEST_BASE/run.XXXXXX") || return 1
	chmod 0755 "$UD_PREFIX"
	UD_BIN=$UD_PREFIX/bin/userdocker
	UD_ETC=$UD_PREFIX/etc/userdocker
	UD_CONFIG=$UD_ETC/config.lua
	export UD_PREFIX UD_BIN UD_ETC UD_CONFIG

	mkdir "$UD_BUILD_DIR/src"
	tar -C "$src" --exclude=./.git --exclude=./autom4te.cache \
		--exclude='*.trs' --exclude='*.log' -cf - . |
		tar -C "$UD_BUILD_DIR/src" -xf - || return 1

	# make clean: objects copied from an in-place build were compiled for
	# another prefix, and make does not know that.
	(
		set -e
		cd "$UD_BUILD_DIR/src"
		[ -x configure ] || autoreconf -fi
		# shellcheck disable=SC2086 # UD_CONFIGURE_FLAGS is a word list
		./configure --prefix="$UD_PREFIX" --sysconfdir="$UD_PREFIX/etc" \
			--with-pam-service="$UD_PAM_SERVICE" \
			--with-syslog-socket="$UD_SYSLOG_SOCKET" ${UD_CONFIGURE_FLAGS:-}
		make clean
		make -j2
		make install
	) >"$UD_BUILD_DIR/build.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || [ ! -x "$UD_BIN" ]; then
		echo "# build/install failed (status $rc); last lines of $UD_BUILD_DIR/build.log:" >&2
		tail -n 40 "$UD_BUILD_DIR/build.log" | sed 's/^/#   /' >&2
		return 1
	fi
	mkdir -p "$UD_ETC" && chmod 0755 "$UD_PREFIX/etc" "$UD_ETC"
	ud_pam_service 'account required pam_permit.so' || return 1
	UD_INSTALL_SECONDS=$(($(date +%s) - t0))
	export UD_INSTALL_SECONDS
}

# PAM reads /etc/pam.d only: the tests' own service lives there while
# they run.  ud_pam_service 'LINES' replaces its rules.
ud_pam_service() {
	_ud_write_root_file "/etc/pam.d/$UD_PAM_SERVICE" "# written by the userdocker tests
$1"
}

ud_install_cleanup() {
	local d
	rm -f "/etc/pam.d/$UD_PAM_SERVICE"
	for d in "$UD_PREFIX" "$UD_BUILD_DIR"; do
		case $d in
		"$UD_TEST_BASE"/run.* | "$UD_TEST_BASE"/build.*)
			[ -n "${UD_KEEP_BUILD:-}" ] && [ "$d" = "$UD_BUILD_DIR" ] &&
				{ echo "# build kept in $d" >&2; continue; }
			rm -rf --one-file-system "$d" ;;
		esac
	done
	UD_PREFIX='' UD_BUILD_DIR=''
	rmdir "$UD_TEST_BASE" 2>/dev/null
	return 0
}

# Write TEXT to FILE as root:root 0644, atomically.
_ud_write_root_file() {
	local file=$1 text=$2 tmp
	tmp=$(mktemp "$(dirname "$file")/.ud-config.XXXXXX") || return 1
	printf '%s\n' "$text" >"$tmp" &&
		chown root:root "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$file" ||
		{ rm -f "$tmp"; return 1; }
}

ud_config() {
	mkdir -p "$UD_ETC" && chmod 0755 "$UD_ETC" || return 1
	_ud_write_root_file "$UD_CONFIG" "DOCKER_SOCKET = \"$UD_SOCK\"
EXECUTORS = { docker = \"$UD_EXECUTOR\" }
${1-}"
}

ud_config_file() {
	local rel=$1 text=$2 dir
	case /$rel/ in
	*/../* | *//*)
		echo "ud_config_file: bad relative path: $rel" >&2
		return 1 ;;
	esac
	dir=$(dirname "$UD_ETC/$rel")
	mkdir -p "$dir" || return 1
	while [ "$dir" != "$UD_ETC" ]; do
		chmod 0755 "$dir"
		dir=$(dirname "$dir")
	done
	_ud_write_root_file "$UD_ETC/$rel" "$text"
}

reset_config() {
	local d
	for d in group gid user uid policy.d; do
		rm -rf "${UD_ETC:?}/$d"
	done
	chown root:root "$UD_ETC" && chmod 0755 "$UD_ETC"
	ud_pam_service 'account required pam_permit.so'
	ud_config ''
}
