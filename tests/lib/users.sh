# shellcheck shell=bash
# tests/lib/users.sh - throwaway unprivileged users for the integration tests.
#
#   ud_users_create          udt-alice (supplementary group udt-lab) and
#                            udt-bob, each with a home; exports UD_ALICE_UID,
#                            UD_ALICE_GID, UD_ALICE_HOME and the same for BOB
#   ud_users_remove          kills what still runs as them, userdel -r,
#                            groupdel; safe to call twice
#   as_user NAME CMD...      run CMD as NAME, from NAME's home, in a clean
#                            environment (HOME USER LOGNAME SHELL PATH only),
#                            with fds 0-2 only (and UD_KEEP_FDS: see tap.sh)
#   as_user_env NAME VAR=val... -- CMD...
#                            the same with extra environment variables
#
# Needs tap.sh (ud_close_fds). Names start with "udt-" so that they cannot be mistaken for real accounts;
# leftovers of an interrupted run are removed before creating them again.

UD_TEST_USERS="udt-alice udt-bob"
UD_TEST_GROUP=udt-lab
UD_USER_TIMEOUT=${UD_USER_TIMEOUT:-${TAP_TIMEOUT:-120}}
UD_USER_PATH=/usr/local/bin:/usr/bin:/bin

_ud_user_field() {
	getent passwd "$1" | cut -d: -f"$2"
}

ud_users_remove() {
	local u pid
	for u in $UD_TEST_USERS; do
		getent passwd "$u" >/dev/null || continue
		# Only these throwaway accounts' processes: every one was started
		# by this harness.
		for pid in $(ps -o pid= -u "$u" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		userdel -r "$u" 2>/dev/null || userdel -f -r "$u" 2>/dev/null ||
			echo "# warning: could not remove user $u" >&2
	done
	if getent group "$UD_TEST_GROUP" >/dev/null; then
		groupdel "$UD_TEST_GROUP" || echo "# warning: could not remove group $UD_TEST_GROUP" >&2
	fi
	return 0
}

ud_users_create() {
	ud_users_remove
	groupadd "$UD_TEST_GROUP" || return 1
	useradd -m -s /bin/sh -G "$UD_TEST_GROUP" udt-alice || return 1
	useradd -m -s /bin/sh udt-bob || return 1
	UD_ALICE_UID=$(id -u udt-alice) UD_ALICE_GID=$(id -g udt-alice)
	UD_ALICE_HOME=$(_ud_user_field udt-alice 6)
	UD_BOB_UID=$(id -u udt-bob) UD_BOB_GID=$(id -g udt-bob)
	UD_BOB_HOME=$(_ud_user_field udt-bob 6)
	export UD_ALICE_UID UD_ALICE_GID UD_ALICE_HOME UD_BOB_UID UD_BOB_GID UD_BOB_HOME
}

as_user_env() {
	local user=$1
	shift
	local -a extra=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		extra+=("$1")
		shift
	done
	[ "${1-}" = -- ] && shift
	if [ $# -eq 0 ]; then
		echo "as_user_env: no command" >&2
		return 2
	fi
	local uid gid home
	uid=$(_ud_user_field "$user" 3)
	gid=$(_ud_user_field "$user" 4)
	home=$(_ud_user_field "$user" 6)
	if [ -z "$uid" ] || [ -z "$home" ]; then
		echo "as_user_env: no such user: $user" >&2
		return 2
	fi
	# cd as root first (the home may be 0700), then drop everything: real,
	# effective and saved ids, groups from the group database, environment.
	(
		cd "$home" || exit 2
		ud_close_fds
		exec timeout -k 5 "$UD_USER_TIMEOUT" \
			setpriv --reuid="$uid" --regid="$gid" --init-groups --reset-env \
			env -i HOME="$home" USER="$user" LOGNAME="$user" SHELL=/bin/sh \
			PATH="$UD_USER_PATH" "${extra[@]}" "$@"
	)
}

as_user() {
	local user=$1
	shift
	as_user_env "$user" -- "$@"
}
