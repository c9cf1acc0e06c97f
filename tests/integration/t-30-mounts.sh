# t-30-mounts.sh - bind mounts: what the admin's VOLUME_MOUNTS_* entries
# allow, how host paths are resolved (as the caller, symlinks, "..",
# component boundaries, permissions), the other ways docker has to mount
# things, the staging under /run/userdocker, and a symlink race against the
# check.
# Sourced by tests/integration.sh (TAP helpers, ud_* helpers, users, daemon).

A=udt-alice
A_UID=$UD_ALICE_UID A_GID=$UD_ALICE_GID A_HOME=$UD_ALICE_HOME
B=udt-bob
B_HOME=$UD_BOB_HOME

STAGING=/run/userdocker

# Our own files: root-owned, readable by the test users; removed with the
# prefix whatever happens.
T30=$UD_PREFIX/t30
rm -rf "$T30"
mkdir -p "$T30/bin" && chmod 0755 "$T30" "$T30/bin" || bail_out "cannot create $T30"

# Staging directories of runs, <pid>-<random hex> (other files there, such
# as the GPU lock, are not ours to judge).
t30_staged() {
	ls -A "$STAGING" 2>/dev/null | grep -E '^[0-9]+-[0-9a-f]+$'
}

# Mount points at or under the staging directory, in our mount namespace.
t30_staged_mounts() {
	awk -v d="$STAGING" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo
}

T30_STAGED_BEFORE=$(t30_staged)
[ -z "$T30_STAGED_BEFORE" ] || diag "already in $STAGING before t-30: $(echo $T30_STAGED_BEFORE)"

t30_no_staging_left() {
	is "$(t30_staged)" "$T30_STAGED_BEFORE" "$1: nothing left in $STAGING"
	is "$(t30_staged_mounts)" "" "$1: no mount left under $STAGING"
}

# A mount request alice makes that must be refused: 77, the message, one
# line, no container (ud_refused), and nothing left staged.
t30_refused() {
	local name=$1 re=$2
	shift 2
	ud_refused "$name" 77 "$re" $A "$@"
}

# Alice's files: $HOME/data/f, $HOME/data/sub/g.
run_cmd as_user $A sh -c 'rm -rf "$HOME/t30" && mkdir -p "$HOME/t30/data/sub" &&
	echo data-t30 > "$HOME/t30/data/f" && echo sub-t30 > "$HOME/t30/data/sub/g"'
is "$RUN_STATUS" 0 "setup: alice's data directory"
D=$A_HOME/t30/data
run_forget

HOME_ANY='VOLUME_MOUNTS_AVAILABLE = { user_home .. "/**:" }'

# --- any path under the home, at a container path of alice's choosing -----

ud_config "$HOME_ANY"
ud_as $A run -v "$D:/mnt/x" local/busybox sh -c \
	'cat /mnt/x/f; cat /mnt/x/sub/g; echo new-t30 > /mnt/x/new && echo WROTE; grep " /mnt/x " /proc/self/mountinfo'
is "$RUN_STATUS" 0 "-v \$HOME/t30/data:/mnt/x: exit status 0"
is "$(printf '%s\n' "$RUN_OUT" | head -n 3)" "data-t30
sub-t30
WROTE" "-v \$HOME/t30/data:/mnt/x: content readable, writable in the container"
like "$RUN_OUT" ' /mnt/x rw[, ]' "-v \$HOME/t30/data:/mnt/x: mounted read-write at /mnt/x"
is "$(cat "$D/new" 2>&1)" new-t30 "-v \$HOME/t30/data:/mnt/x: the container's write arrived on the host"
is "$(stat -c %u:%g "$D/new" 2>&1)" "$A_UID:$A_GID" "-v \$HOME/t30/data:/mnt/x: the written file is alice's"
rm -f "$D/new"

ud_as $A run -v "$D:/mnt/x:ro" local/busybox sh -c \
	'cat /mnt/x/f; if echo x > /mnt/x/new-ro 2>/dev/null; then echo WRITABLE; else echo READONLY; fi; grep " /mnt/x " /proc/self/mountinfo'
is "$RUN_STATUS" 0 "-v ...:ro: exit status 0"
is "$(printf '%s\n' "$RUN_OUT" | head -n 2)" "data-t30
READONLY" "-v ...:ro: content readable, writes fail"
like "$RUN_OUT" ' /mnt/x ro[, ]' "-v ...:ro: mounted read-only"
ok_if "-v ...:ro: nothing written on the host" test ! -e "$D/new-ro"

# A single file.
ud_as $A run -v "$D/f:/etc/t30-file:ro" local/busybox cat /etc/t30-file
is "$RUN_STATUS:$RUN_OUT" "0:data-t30" "-v of a single file: its content at the container path"
run_forget

# --- spellings of the same host path -------------------------------------------

for src in "$D/" "$D//" "$A_HOME//t30/data" "$A_HOME/./t30/./data" "$D/sub/.." \
	"$A_HOME/../${A_HOME##*/}/t30/data" "$A_HOME/t30/data/sub/../../data"; do
	ud_as $A run -v "$src:/mnt/x" local/busybox cat /mnt/x/f
	is "$RUN_STATUS:$RUN_OUT" "0:data-t30" "-v $src:/mnt/x (the same directory): allowed, same content"
done
# Container paths are normalised too.
ud_as $A run -v "$D:/a/../mnt//x/" local/busybox cat /mnt/x/f
is "$RUN_STATUS:$RUN_OUT" "0:data-t30" "container path /a/../mnt//x/: mounted at /mnt/x"
run_forget

t30_refused "-v \$HOME/..:/x (the directory above the home)" '^userdocker: mount not allowed: ' \
	run -v "$A_HOME/..:/x" local/busybox ls /x
t30_refused "-v \$HOME/t30/data/../../..:/x" '^userdocker: mount not allowed: ' \
	run -v "$D/../../..:/x" local/busybox ls /x
t30_refused "-v t30/data:/x (relative: a named volume for docker)" '^userdocker: (mount not allowed|mount malformed|named volume not allowed): ' \
	run -v "t30/data:/x" local/busybox ls /x
t30_refused "-v ./t30/data:/x (relative)" '^userdocker: mount not allowed: ' \
	run -v "./t30/data:/x" local/busybox ls /x
t30_refused "-v ../udt-alice/t30/data:/x (relative)" '^userdocker: mount not allowed: ' \
	run -v "../${A_HOME##*/}/t30/data:/x" local/busybox ls /x
t30_refused "-v ~/t30/data:/x (no tilde expansion)" '^userdocker: mount not allowed: ' \
	run -v "~/t30/data:/x" local/busybox ls /x
t30_refused "-v \$HOME/t30/data:x (relative container path)" '^userdocker: mount (not allowed|malformed): ' \
	run -v "$D:x" local/busybox ls /x
t30_refused "-v \$HOME/t30/data:/ (container path /)" '^userdocker: mount (not allowed|malformed): ' \
	run -v "$D:/" local/busybox ls /
t30_refused "-v \$HOME/t30/data:/x:z (a flag the entry does not allow)" '^userdocker: mount (flags )?not allowed: ' \
	run -v "$D:/x:z" local/busybox ls /x
t30_refused "-v \$HOME/t30/data:/x:ro:rw (too many fields)" '^userdocker: mount (not allowed|malformed): ' \
	run -v "$D:/x:ro:rw" local/busybox ls /x
t30_refused "-v \$HOME/t30/data:\$HOME (the home's own mount point, another source)" '^userdocker: mount not allowed: ' \
	run -v "$D:$A_HOME" local/busybox ls "$A_HOME"

t30_refused "-v of a nonexistent path under the home" '^userdocker: mount (source )?not (found|allowed): ' \
	run -v "$A_HOME/t30/nope:/x" local/busybox ls /x
ok_if "nonexistent source: docker did not create it" test ! -e "$A_HOME/t30/nope"
run_forget

# --- symbolic links ---------------------------------------------------------------

run_cmd as_user $A sh -c 'cd "$HOME/t30" && ln -s /etc etc-link && ln -s data data-link &&
	ln -s "$HOME/t30/data" data-abs-link && ln -s ../.. up-link'
is "$RUN_STATUS" 0 "setup: alice's symlinks (to /etc, to her data, relative, upwards)"
t30_refused "-v \$HOME/t30/etc-link:/x (a symlink to /etc)" '^userdocker: mount not allowed: ' \
	run -v "$A_HOME/t30/etc-link:/x" local/busybox ls /x
t30_refused "-v \$HOME/t30/etc-link/ssl:/x (through a symlink to /etc)" '^userdocker: mount not allowed: ' \
	run -v "$A_HOME/t30/etc-link/ssl:/x" local/busybox ls /x
t30_refused "-v \$HOME/t30/up-link:/x (a symlink to /home)" '^userdocker: mount not allowed: ' \
	run -v "$A_HOME/t30/up-link:/x" local/busybox ls /x
for link in data-link data-abs-link; do
	ud_as $A run -v "$A_HOME/t30/$link:/mnt/x" local/busybox sh -c 'ls /mnt/x; cat /mnt/x/f'
	is "$RUN_STATUS" 0 "-v \$HOME/t30/$link:/mnt/x (a symlink to her own data): allowed"
	is "$RUN_OUT" "f
sub
data-t30" "-v \$HOME/t30/$link: the container sees the data directory, not /etc"
done
run_forget

# --- sub-path entries: whole components only --------------------------------------

SCRATCH=$T30/scratch
mkdir -p "$SCRATCH" && chmod 0755 "$SCRATCH"
for d in "$A" "${A}2"; do
	mkdir -p "$SCRATCH/$d/d"
	echo "in-$d" >"$SCRATCH/$d/d/f"
	chown -R "$A:$A_GID" "$SCRATCH/$d"
done
ln -s "../${A}2" "$SCRATCH/$A/to-2"
chown -h "$A:$A_GID" "$SCRATCH/$A/to-2"

ud_config "VOLUME_MOUNTS_AVAILABLE = { \"$SCRATCH/\" .. user_name .. \"/**:\" }"
ud_as $A run -v "$SCRATCH/$A:/s" local/busybox cat /s/d/f
is "$RUN_STATUS:$RUN_OUT" "0:in-$A" "\"$SCRATCH/\" .. user_name .. \"/**:\": the directory itself"
ud_as $A run -v "$SCRATCH/$A/d:/s" local/busybox cat /s/f
is "$RUN_STATUS:$RUN_OUT" "0:in-$A" "\"\$SCRATCH/udt-alice/**:\": a sub-directory"
t30_refused "\$SCRATCH/udt-alice2 (same prefix, another directory)" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/${A}2:/s" local/busybox cat /s/d/f
t30_refused "\$SCRATCH/udt-alice2/d" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/${A}2/d:/s" local/busybox cat /s/f
t30_refused "\$SCRATCH/udt-alice/../udt-alice2" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/$A/../${A}2:/s" local/busybox cat /s/d/f
t30_refused "\$SCRATCH/udt-alice/to-2 (a symlink to udt-alice2)" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/$A/to-2:/s" local/busybox cat /s/d/f
t30_refused "\$SCRATCH (the base)" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH:/s" local/busybox ls /s

# With a container path, the sub-path is appended to it.
ud_config "VOLUME_MOUNTS_AVAILABLE = { \"$SCRATCH/\" .. user_name .. \"/**:/scratch\" }"
ud_as $A run -v "$SCRATCH/$A/d:/scratch/d" local/busybox cat /scratch/d/f
is "$RUN_STATUS:$RUN_OUT" "0:in-$A" "\"...**:/scratch\": -v \$SCRATCH/udt-alice/d:/scratch/d"
ud_as $A run -v "$SCRATCH/$A:/scratch" local/busybox cat /scratch/d/f
is "$RUN_STATUS:$RUN_OUT" "0:in-$A" "\"...**:/scratch\": -v \$SCRATCH/udt-alice:/scratch"
t30_refused "\"...**:/scratch\": -v \$SCRATCH/udt-alice/d:/elsewhere" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/$A/d:/elsewhere" local/busybox true
t30_refused "\"...**:/scratch\": -v \$SCRATCH/udt-alice/d:/scratch/other" '^userdocker: mount not allowed: ' \
	run -v "$SCRATCH/$A/d:/scratch/other" local/busybox true
reset_config
run_forget

# --- what alice cannot open herself -------------------------------------------------

# bob's home is traversable; in it a 0700 directory, a 0711 one (enter but
# not list) holding a 0755 one, a 0600 file and a 0644 file.
mkdir -p "$B_HOME/t30-private" "$B_HOME/t30-xonly/pub"
echo bob-secret-t30 >"$B_HOME/t30-private/secret"
echo bob-secret-t30 >"$B_HOME/t30-secret.txt"
echo bob-public-t30 >"$B_HOME/t30-public.txt"
echo bob-pub-t30 >"$B_HOME/t30-xonly/pub/f"
chown -R "$B:" "$B_HOME/t30-private" "$B_HOME/t30-xonly" "$B_HOME"/t30-*.txt
chmod 0711 "$B_HOME"
chmod 0700 "$B_HOME/t30-private"
chmod 0711 "$B_HOME/t30-xonly"
chmod 0755 "$B_HOME/t30-xonly/pub"
chmod 0600 "$B_HOME/t30-secret.txt"
chmod 0644 "$B_HOME/t30-public.txt"

HOMES=$(dirname "$B_HOME")
ud_config "VOLUME_MOUNTS_AVAILABLE = { \"$HOMES/**:\" }"
t30_refused "\"$HOMES/**:\": bob's 0700 directory" "^userdocker: .*$B_HOME/t30-private.*(Permission denied|not readable)" \
	run -v "$B_HOME/t30-private:/x" local/busybox cat /x/secret
t30_refused "\"$HOMES/**:\": a file in bob's 0700 directory" "^userdocker: .*$B_HOME/t30-private.*Permission denied" \
	run -v "$B_HOME/t30-private/secret:/x" local/busybox cat /x
t30_refused "\"$HOMES/**:\": bob's 0711 directory (alice may enter, not list)" "^userdocker: .*$B_HOME/t30-xonly.*(Permission denied|not readable)" \
	run -v "$B_HOME/t30-xonly:/x" local/busybox ls /x
t30_refused "\"$HOMES/**:\": bob's 0600 file" "^userdocker: .*$B_HOME/t30-secret\\.txt.*Permission denied" \
	run -v "$B_HOME/t30-secret.txt:/x" local/busybox cat /x
ud_as $A run -v "$B_HOME/t30-xonly/pub:/x:ro" local/busybox cat /x/f
is "$RUN_STATUS:$RUN_OUT" "0:bob-pub-t30" "\"$HOMES/**:\": a directory alice can open inside bob's 0711 one: allowed"
ud_as $A run -v "$B_HOME/t30-public.txt:/x:ro" local/busybox cat /x
is "$RUN_STATUS:$RUN_OUT" "0:bob-public-t30" "\"$HOMES/**:\": bob's 0644 file: allowed"
# Without the probe, the open as alice still decides.
ud_config "VOLUME_MOUNTS_AVAILABLE = { \"$HOMES/**:\" }
PROBE_USED_MOUNTS = false"
t30_refused "PROBE_USED_MOUNTS = false: bob's 0700 directory" "^userdocker: .*$B_HOME/t30-private.*(Permission denied|not readable)" \
	run -v "$B_HOME/t30-private:/x" local/busybox cat /x/secret
t30_refused "PROBE_USED_MOUNTS = false: bob's 0711 directory" "^userdocker: .*$B_HOME/t30-xonly.*(Permission denied|not readable)" \
	run -v "$B_HOME/t30-xonly:/x" local/busybox ls /x
# A root-only file the admin's entry covers.
ud_config 'VOLUME_MOUNTS_AVAILABLE = { "/etc/**:" }'
t30_refused "\"/etc/**:\": /etc/shadow (root-only)" '^userdocker: .*/etc/shadow.*Permission denied' \
	run -v /etc/shadow:/x local/busybox cat /x
reset_config
rm -rf "$B_HOME/t30-private" "$B_HOME/t30-xonly" "$B_HOME"/t30-*.txt
chmod 0755 "$B_HOME"
run_forget

# --- other ways to mount --------------------------------------------------------------
#
# --mount type=bind is judged like -v; named volumes need VOLUME_NAMED_REGEXPS
# (none by default); anonymous volumes need VOLUME_ANONYMOUS (true by
# default); tmpfs needs --tmpfs in ARGS_AVAILABLE.run; --volumes-from and
# --volume-driver are never allowed.

ud_config "$HOME_ANY"
ud_as $A run --mount "type=bind,src=$D,dst=/x" local/busybox cat /x/f
is "$RUN_STATUS:$RUN_OUT" "0:data-t30" "--mount type=bind of alice's data: allowed like -v"
ud_as $A run --mount "type=bind,source=$D,target=/x,readonly" local/busybox \
	sh -c 'cat /x/f; if echo x > /x/new-ro 2>/dev/null; then echo WRITABLE; else echo READONLY; fi'
is "$RUN_STATUS:$RUN_OUT" "0:data-t30
READONLY" "--mount type=bind,...,readonly: read-only in the container"
ok_if "--mount ...,readonly: nothing written on the host" test ! -e "$D/new-ro"
t30_refused "--mount type=bind of /etc" '^userdocker: mount not allowed: ' \
	run --mount "type=bind,source=/etc,target=/x" local/busybox ls /x
t30_refused "--mount type=bind through alice's symlink to /etc" '^userdocker: mount not allowed: ' \
	run --mount "type=bind,src=$A_HOME/t30/etc-link,dst=/x" local/busybox ls /x
t30_refused "--mount type=bind with a relative source" '^userdocker: mount (not allowed|malformed): ' \
	run --mount "type=bind,src=t30/data,dst=/x" local/busybox ls /x
t30_refused "--mount type=bind,bind-propagation=rshared" '^userdocker: mount (not allowed|malformed): ' \
	run --mount "type=bind,src=$D,dst=/x,bind-propagation=rshared" local/busybox ls /x
t30_refused "--mount type=volume (a named volume)" '^userdocker: named volume not allowed: ' \
	run --mount "type=volume,src=t30vol,dst=/x" local/busybox ls /x
t30_refused "--mount with volume-driver" '^userdocker: mount not allowed: .*volume-driver' \
	run --mount "type=volume,src=t30vol,dst=/x,volume-driver=local" local/busybox ls /x
t30_refused "--mount type=tmpfs (--tmpfs not allowed)" '^userdocker: mount not allowed: .*tmpfs' \
	run --mount "type=tmpfs,dst=/x" local/busybox ls /x
t30_refused "--volumes-from" '^userdocker: .*not allowed: .*--volumes-from' \
	run --volumes-from t30-other local/busybox true
t30_refused "--tmpfs /x" '^userdocker: .*not allowed: .*--tmpfs' \
	run --tmpfs /x local/busybox true
t30_refused "--volume-driver" '^userdocker: .*not allowed: .*--volume-driver' \
	run --volume-driver local local/busybox true
t30_refused "-v name:/x (named volume)" '^userdocker: named volume not allowed: ' \
	run -v t30vol:/x local/busybox true

ud_as $A run -v /anon local/busybox sh -c 'grep -c " /anon " /proc/self/mountinfo'
is "$RUN_STATUS:$RUN_OUT" "0:1" "-v /anon (anonymous volume, VOLUME_ANONYMOUS default true): mounted"
ud_as $A run --mount type=volume,dst=/anon local/busybox sh -c 'grep -c " /anon " /proc/self/mountinfo'
is "$RUN_STATUS:$RUN_OUT" "0:1" "--mount type=volume,dst=/anon (anonymous): mounted"
is "$($UD_DOCKER volume ls -q 2>&1)" "" "no docker volume left (anonymous ones go with --rm)"
ud_config "$HOME_ANY
VOLUME_ANONYMOUS = false"
t30_refused "-v /x, VOLUME_ANONYMOUS = false" '^userdocker: anonymous volume not allowed: ' \
	run -v /x local/busybox true
t30_refused "--mount type=volume,dst=/x, VOLUME_ANONYMOUS = false" '^userdocker: anonymous volume not allowed: ' \
	run --mount type=volume,dst=/x local/busybox true

ud_config "$HOME_ANY
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = \"--tmpfs\""
ud_as $A run --tmpfs /scratchpad local/busybox sh -c 'grep " /scratchpad " /proc/self/mountinfo'
is "$RUN_STATUS" 0 "--tmpfs listed in ARGS_AVAILABLE.run: allowed"
like "$RUN_OUT" ' /scratchpad .* - tmpfs ' "--tmpfs listed in ARGS_AVAILABLE.run: a tmpfs in the container"
ud_as $A run --mount type=tmpfs,dst=/scratchpad local/busybox sh -c 'grep " /scratchpad " /proc/self/mountinfo'
like "$RUN_STATUS:$RUN_OUT" '^0:.* /scratchpad .* - tmpfs ' "--tmpfs listed: --mount type=tmpfs is allowed too"
t30_refused "--tmpfs listed: --mount type=bind of /etc still refused" '^userdocker: mount not allowed: ' \
	run --mount "type=bind,source=/etc,target=/x" local/busybox ls /x
is "$($UD_DOCKER volume ls -q 2>&1)" "" "no docker volume was created"
reset_config
run_forget

# --- staging under /run/userdocker ---------------------------------------------------

ud_config "$HOME_ANY
ARGS_AVAILABLE.run[#ARGS_AVAILABLE.run + 1] = { \"-d\", \"--detach\" }"
ud_as $A run -v "$D:/data" local/busybox cat /data/f
is "$RUN_STATUS:$RUN_OUT" "0:data-t30" "staging: a run with a bind mount works"
t30_no_staging_left "after a successful run"
ud_as $A run -v "$D:/data" local/busybox sh -c 'exit 3'
is "$RUN_STATUS" 3 "staging: the container's exit status comes back (3)"
t30_no_staging_left "after a container that failed"
ud_mark
ud_as $A run -v "$D:/data" -w relative/dir local/busybox true
like "$RUN_STATUS" '^12[5-7]$' "staging: docker refuses a relative --workdir (docker's status)"
t30_no_staging_left "after docker failed"
ud_refused "staging: a refused run" 77 '^userdocker: mount not allowed: ' \
	$A run -v "$D:/data" -v /etc:/etc2 local/busybox true
t30_no_staging_left "after a refused run"

# Detached: docker inspect shows the staged source; the container keeps
# its mount after userdocker took the staging point down.
ud_as $A run -d -v "$D:/data" local/busybox sleep 120
is "$RUN_STATUS" 0 "run -d -v: exit status 0"
cid=$(printf '%s\n' "$RUN_OUT" | tail -n 1)
if [ -n "$cid" ] && $UD_DOCKER inspect "$cid" >/dev/null 2>&1; then
	binds=$(ud_inspect '{{range .HostConfig.Binds}}{{println .}}{{end}}' "$cid")
	like "$binds" "^$STAGING/[0-9]+-[0-9a-f]+/[0-9]+:/data\$" "run -d: inspect shows the /data bind's source under $STAGING"
	like "$binds" "^$STAGING/[0-9]+-[0-9a-f]+/[0-9]+:$A_HOME\$" "run -d: inspect shows the home bind's source under $STAGING"
	unlike "$binds" "^$D:" "run -d: inspect does not show the user's path as a source"
	is "$($UD_DOCKER exec "$cid" cat /data/f 2>&1)" data-t30 "run -d: the container sees the directory's content"
	is "$($UD_DOCKER exec -u "$A_UID:$A_GID" "$cid" sh -c 'echo from-detached > /data/from-d && cat /data/from-d' 2>&1)" \
		from-detached "run -d: the container can write through the mount"
	is "$(cat "$D/from-d" 2>&1)" from-detached "run -d: ... and the file is on the host, in alice's directory"
	t30_no_staging_left "run -d, while its container still runs"
	$UD_DOCKER rm -f "$cid" >/dev/null 2>&1
	rm -f "$D/from-d"
else
	not_ok "run -d: container exists for docker inspect"
fi
reset_config
run_forget

# --- THE RACE: the source swapped between a directory and a symlink to /etc --------
#
# alice swaps $HOME/t30/swap between her directory (holding only "safe")
# and a symlink to /etc with renameat2(RENAME_EXCHANGE), as fast as she
# can, while she runs containers mounting $HOME/t30/swap.  Each run must
# either show the directory or be refused; a listing of /etc is an escape.

T30_RACE_RUNS=${UD_RACE_RUNS:-200}
T30_RACE_JOBS=${UD_RACE_JOBS:-4}
cat >"$T30/swapper.c" <<'EOF'
/* swapper A B STOPFILE: exchange the names A and B until STOPFILE exists
 * (checked every 4096 swaps) or 10 minutes have passed. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif
int main(int argc, char **argv)
{
	unsigned long n = 0, failed = 0;
	time_t end = time(NULL) + 600;

	if (argc != 4)
		return 2;
	for (;;) {
		if (syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE))
			failed++;
		if ((++n & 4095) == 0 && (access(argv[3], F_OK) == 0 || time(NULL) > end))
			break;
	}
	printf("%lu swaps, %lu failed\n", n, failed);
	return failed == n;
}
EOF
if ! cc -O2 -o "$T30/bin/swapper" "$T30/swapper.c" 2>"$T30/cc.log"; then
	skip "no C compiler ($(head -n 1 "$T30/cc.log"))" "race: symlink swapped during the check"
else
	run_cmd as_user $A sh -c 'cd "$HOME/t30" && rm -rf swap swap.other && mkdir swap &&
		echo ok > swap/safe && ln -s /etc swap.other'
	is "$RUN_STATUS" 0 "race setup: swap/ (holding 'safe') and swap.other -> /etc"
	ud_config "$HOME_ANY"
	ud_mark
	race_t0=$(date +%s.%N)
	rm -f "$T30/race-stop"
	UD_USER_TIMEOUT=900 as_user $A "$T30/bin/swapper" "$A_HOME/t30/swap" "$A_HOME/t30/swap.other" "$T30/race-stop" \
		>"$T30/swapper.out" 2>&1 &
	swapper_job=$!

	# T30_RACE_JOBS workers, each doing its share of the runs; one line per
	# run: "<status> <listing on one line>", and the stderr line.
	race_worker() {
		local i out err st
		for ((i = $1; i < T30_RACE_RUNS; i += T30_RACE_JOBS)); do
			out=$(as_user $A "$UD_BIN" run -v "$A_HOME/t30/swap:/data" local/busybox \
				sh -c 'ls -a /data' 2>"$T30/race-err.$1")
			st=$?
			err=$(head -c 300 "$T30/race-err.$1" | tr '\n' ' ')
			printf '%s\t%s\t%s\n' "$st" "$(printf '%s' "$out" | tr '\n' ' ')" "$err"
		done >"$T30/race.$1"
	}
	workers=()
	for ((w = 0; w < T30_RACE_JOBS; w++)); do
		race_worker "$w" &
		workers+=($!)
	done
	wait "${workers[@]}"
	touch "$T30/race-stop"
	wait "$swapper_job"
	race_secs=$(awk -v a="$race_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')

	cat "$T30"/race.[0-9]* >"$T30/race.all"
	n=$(wc -l <"$T30/race.all")
	saw=$(awk -F'\t' '$1 == 0 && $2 == ". .. safe"' "$T30/race.all" | wc -l)
	refused=$(awk -F'\t' '$1 == 77 && $3 ~ /^userdocker: mount/' "$T30/race.all" | wc -l)
	escapes=$(awk -F'\t' '$2 ~ /(^| )(passwd|shadow|group|hostname|hosts|os-release|fstab)( |$)/' "$T30/race.all" | wc -l)
	other=$((n - saw - refused - escapes))
	diag "race: $n runs, $saw saw the directory, $refused refused, $escapes escapes" \
		"($other other; ${race_secs}s, $T30_RACE_JOBS in parallel; swapper: $(cat "$T30/swapper.out"))"
	is "$n" "$T30_RACE_RUNS" "race: all $T30_RACE_RUNS runs happened"
	is "$escapes" 0 "race: no run saw /etc through the swapped path (escapes)"
	if [ "$other" -ne 0 ]; then
		not_ok "race: every run either saw the directory or was refused with a mount message" \
			"other outcomes (status, listing, stderr):" \
			"$(awk -F'\t' '!($1 == 0 && $2 == ". .. safe") && !($1 == 77 && $3 ~ /^userdocker: mount/)' \
				"$T30/race.all" | sort | uniq -c | sort -rn | head -n 10)"
	else
		ok "race: every run either saw the directory or was refused with a mount message"
	fi
	if [ "$saw" -gt 0 ] && [ "$refused" -gt 0 ]; then
		ok "race: both outcomes occurred (the swap did hit the check)"
	else
		skip "the swap never changed an outcome ($saw saw, $refused refused)" \
			"race: both outcomes occurred (the swap did hit the check)"
	fi
	awk -F'\t' '$1 == 77 { sub(/: \/.*/, "", $3); print $3 }' "$T30/race.all" | sort | uniq -c |
		sed 's/^ */refusal: /' | while read -r line; do diag "race $line"; done
	is "$(ud_count)" "$UD_MARK_COUNT" "race: no container left behind (--rm)"
	t30_no_staging_left "after the race"
	is "$(pgrep -u 0 -f "^$UD_BIN( |\$)"; pgrep -u "$A" -f "^$UD_BIN( |\$)")" "" \
		"race: no userdocker process left behind"
	reset_config
fi
run_forget

# --- a closed stderr pipe or a terminal signal while mounts are staged --------------
# The reader stops at "executing:", which userdocker writes after staging:
# its next write to stderr meets a closed pipe.  Root must still take the
# mounts down (it ignores SIGPIPE, SIGINT, SIGHUP until docker exits).

ud_config "$HOME_ANY"
run_cmd as_user $A sh -c 'cd && mkdir -p t30/many && i=0; while [ $i -lt 20 ]; do mkdir -p t30/many/m$i; i=$((i+1)); done'
vargs=()
for i in $(seq 0 19); do vargs+=(-v "$A_HOME/t30/many/m$i:/m$i"); done
for try in 1 2 3; do
	run_cmd as_user $A sh -c '"$@" 2>&1 >/dev/null | while IFS= read -r l; do case $l in *executing:*) exit 0 ;; esac; done' \
		sh "$UD_BIN" --debug run "${vargs[@]}" local/busybox true
done
sleep 1
t30_no_staging_left "stderr closed after staging (3 runs, 20 mounts each)"
reset_config
run_forget

# --- clean up -------------------------------------------------------------------------

rm -rf "$A_HOME/t30" "$T30"
