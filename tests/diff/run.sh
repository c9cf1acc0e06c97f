#!/bin/bash
# tests/diff/run.sh - differential test of userdocker's argv canonicalisation.
#
# For every argv of tests/diff/corpus.txt and of tests/diff/generate.sh, and
# for every docker client (28.x and 20.10 by default), against a real daemon:
#
#   a. docker create ORIGINAL            -> container (inspected) or error
#   b. argv_canon ORIGINAL               -> CANONICAL, or refused by userdocker
#   c. docker create CANONICAL           -> container (inspected) or error
#
# and then:
#   both created         the normalised inspect JSONs must be equal
#   original errors      the canonical argv must error too
#   refused              allowed (userdocker may be stricter); listed at the end
#   anything else        MISMATCH
# The canonical argv must also be a fixed point: argv_canon CANONICAL gives
# CANONICAL again.
#
# Output is TAP, one test per argv and client, then
#   # differential: N argvs, M comparisons, K mismatches, R refused by userdocker
# where M counts argv+client pairs (R of them refused).  Exit status 1 on any
# mismatch or harness failure.
#
# Must run as root.  Starts a private dockerd with tests/lib/daemon.sh,
# unless UD_SOCK is exported: then that daemon is used (only what this run
# created is removed from it, and it is not stopped).  Never talks to
# /var/run/docker.sock.
#
# Environment:
#   UD_SOCK             use this daemon socket instead of starting one
#   UD_ARGV_CANON       the argv_canon binary (default: built here with gcc
#                       from tests/tools/argv_canon.c, src/argv.c,
#                       src/error.c and the generated flags.c)
#   UD_DIFF_CLIS        docker clients (default: /usr/local/bin/docker
#                       /usr/bin/docker); each must exist
#   UD_DIFF_JOBS        parallel jobs (default 8; the daemon, not the CPU,
#                       is the bottleneck of a sequential create)
#   UD_DIFF_SEED        generator seed (default 1)
#   UD_DIFF_GENERATE    number of generated argvs (default 400)
#   UD_DIFF_FILTER      only argvs matching this extended regexp
#   UD_DIFF_SELFCHECK=1 calibration: run the ORIGINAL twice instead of the
#                       canonical argv; every difference then is noise the
#                       normalisation must remove
#   UD_DIFF_KEEP=1      keep the work directory

set -u
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
T0=$(date +%s)

bail() {
	echo "Bail out! $*"
	exit 1
}

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (runs a docker daemon)"
	exit 0
fi

JOBS=${UD_DIFF_JOBS:-8}
SEED=${UD_DIFF_SEED:-1}
NGEN=${UD_DIFF_GENERATE:-400}
FILTER=${UD_DIFF_FILTER:-}
SELFCHECK=${UD_DIFF_SELFCHECK:-}
read -r -a CLIS <<<"${UD_DIFF_CLIS:-/usr/local/bin/docker /usr/bin/docker}"
for c in "${CLIS[@]}"; do
	[ -x "$c" ] || bail "docker client $c not found"
done
[ ${#CLIS[@]} -gt 0 ] || bail "no docker client"

if ! command -v jq >/dev/null; then
	echo "# installing jq"
	DEBIAN_FRONTEND=noninteractive apt-get install -y jq >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y jq >&2; } ||
		bail "jq is missing and cannot be installed"
fi

W=$(mktemp -d /tmp/ud-diff.XXXXXX) || bail "mktemp failed"
chmod 0755 "$W"
TAG=ud-diff-$$        # prefix of everything this run creates in the daemon
OWN_DAEMON=''

cleanup() {
	local ids vols j
	# our own background jobs first: none may create after this
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "${UD_SOCK:-}" ] && [ -S "$UD_SOCK" ]; then
		ids=$(cat "$W"/ids/* 2>/dev/null | sort -u)
		[ -z "$ids" ] || dk rm -fv $ids >/dev/null 2>&1
		dk rm -fv "$TAG-helper" >/dev/null 2>&1
		dk network rm "$TAG-net" >/dev/null 2>&1
		vols=$(dk volume ls -q --filter "name=$TAG-" 2>/dev/null)
		[ -z "$vols" ] || dk volume rm -f $vols >/dev/null 2>&1
	fi
	[ -z "$OWN_DAEMON" ] || ud_daemon_stop
	if [ -n "${UD_DIFF_KEEP:-}" ]; then
		echo "# kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# docker for the harness itself (the first client; the version does not
# matter for these commands).
dk() {
	"${CLIS[0]}" -H "unix://$UD_SOCK" "$@"
}

# --- the daemon
if [ -z "${UD_SOCK:-}" ]; then
	# shellcheck source=../lib/daemon.sh
	. "$top/tests/lib/daemon.sh"
	OWN_DAEMON=1
	ud_daemon_start || bail "cannot start a private dockerd"
	echo "# private dockerd on $UD_SOCK (started in ${UD_DAEMON_START_SECONDS:-?}s)"
else
	[ -S "$UD_SOCK" ] || bail "UD_SOCK=$UD_SOCK is not a socket"
	case $UD_SOCK in
	/var/run/docker.sock | /run/docker.sock) bail "refusing to use the system daemon $UD_SOCK" ;;
	esac
	echo "# using the dockerd on $UD_SOCK"
fi
dk image inspect local/busybox local/entrypoint local/other >/dev/null 2>&1 ||
	bail "the test images local/busybox, local/entrypoint, local/other are missing"

# --- argv_canon
CANON=${UD_ARGV_CANON:-}
if [ -z "$CANON" ]; then
	CANON=$W/argv_canon
	sh "$top/src/gen-flags.sh" "$top/data/docker-cli-flags.tsv" >"$W/flags.c" ||
		bail "gen-flags.sh failed"
	gcc -std=gnu11 -D_GNU_SOURCE -O1 -I"$top/src" -o "$CANON" \
		"$top/tests/tools/argv_canon.c" "$top/src/argv.c" "$top/src/error.c" \
		"$W/flags.c" >"$W/build.log" 2>&1 ||
		{ sed 's/^/# /' "$W/build.log"; bail "cannot build argv_canon"; }
fi
[ -x "$CANON" ] || bail "argv_canon $CANON is not executable"

# --- fixtures
mkdir -p "$W/cwd" "$W/home" "$W/config" "$W/files" "$W/res" "$W/ids" "$W/tmp"
echo '{}' >"$W/config/config.json"
F=$W/files
printf '%s\n' 'A=fromfile' 'B=fileB' '# a comment' '' 'A=fromfile2' 'UD_DIFF_FOO' \
	'UD_DIFF_UNSET' 'C=with space' >"$F/env1"
printf '%s\n' 'B=env2' 'D=x=y' >"$F/env2"
printf '%s\n' 'GOOD=1' '=novalue' >"$F/bad.env"
printf '%s\n' 'a=1' 'b=file' '# comment' 'c' >"$F/labels1"
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' >"$F/seccomp.json"
chmod -R a+rX "$F"
dk create --name "$TAG-helper" local/busybox sleep 1000 >/dev/null ||
	bail "cannot create the helper container"
dk network create "$TAG-net" --subnet 172.30.99.0/24 >/dev/null 2>&1 ||
	echo "# could not create a user-defined network; argvs using @NET@ will just fail on both sides"

# --- the argvs
CASES=()
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	CASES+=("$line")
done < <(cat "$here/corpus.txt"; [ "$NGEN" -gt 0 ] &&
	bash "$here/generate.sh" --seed "$SEED" --count "$NGEN" \
		--flags "$top/data/docker-cli-flags.tsv")
if [ -n "$FILTER" ]; then
	sel=()
	for line in "${CASES[@]}"; do
		[[ $line =~ $FILTER ]] && sel+=("$line")
	done
	CASES=("${sel[@]}")
fi
NCASES=${#CASES[@]}
NCLI=${#CLIS[@]}
NTESTS=$((NCASES * NCLI))
[ "$NCASES" -gt 0 ] || bail "no argvs"

CLITAG=()
for c in "${CLIS[@]}"; do
	v=$("$c" --version 2>/dev/null | sed -n 's/^Docker version \([0-9]*\.[0-9]*\).*/\1/p')
	CLITAG+=("${v:-$c}")
	echo "# client $c: $("$c" --version 2>/dev/null)"
done
echo "# daemon: $(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null)"
echo "# $NCASES argvs x $NCLI clients, $JOBS jobs, generator seed $SEED"
echo "1..$NTESTS"

# --- one argv with one client
#
# The docker client always runs with this environment and working
# directory, for the original and the canonical argv alike.
docker_env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME="$W/home" DOCKER_CONFIG="$W/config" DOCKER_HOST="unix://$UD_SOCK"
	UD_DIFF_FOO=fooval UD_DIFF_EMPTY=)

# subst NAME WORD...: fill in the placeholders; result in SUBST[]
subst() {
	local name=$1 w
	shift
	SUBST=()
	for w in "$@"; do
		w=${w//@N@/$name}
		w=${w//@F@/$F}
		w=${w//@H@/$TAG-helper}
		w=${w//@NET@/$TAG-net}
		w=${w//@V@/$TAG-}
		SUBST+=("$w")
	done
}

# create OUTPREFIX CLI WORD...: docker create, result in OUTPREFIX.{out,err,rc,id}
create() {
	local p=$1 cli=$2 rc id
	shift 2
	(cd "$W/cwd" && timeout 120 "${docker_env[@]}" "$cli" "$@" \
		</dev/null >"$p.out" 2>"$p.err")
	rc=$?
	echo "$rc" >"$p.rc"
	id=$(grep -E '^[0-9a-f]{64}$' "$p.out" | tail -n 1)
	printf '%s' "$id" >"$p.id"
	[ -z "$id" ] || echo "$id" >>"$W/ids/$K"
}

# Outcome of a create: "created", "error N" or "nothing" (status 0 and no
# container: docker printed the help).
outcome() {
	local p=$1
	if [ -s "$p.id" ] && [ "$(cat "$p.rc")" = 0 ]; then
		echo created
	elif [ "$(cat "$p.rc")" = 0 ]; then
		echo nothing
	else
		echo "error $(cat "$p.rc")"
	fi
}

# The inspect JSON of a container, normalised.  Dropped or rewritten, as
# they differ between two creates of the same argv:
#   Id, Created                       per container
#   ResolvConfPath, HostnamePath,     paths under the daemon's containers/<id>/
#   HostsPath, LogPath
#   State.StartedAt, State.FinishedAt timestamps (zero for a created one anyway)
#   GraphDriver                       layer paths named after the container
#   Name                              "/@N@" when it is the --name the argv gave
#                                     (the a/b name, see @N@), else "<auto>"
#   the container's name and the      --link stores "/helper:/<name>/alias";
#   @N@ name in any string            -h @N@ or --cidfile @F@/@N@.cid without
#                                     --name
#   Config.Hostname                   "<id>" when it is the short id (default)
#   Mounts[] of anonymous volumes     Name and Source are a random volume id
# Made order-independent, as docker itself does not keep the order:
#   HostConfig.Binds                  -v values go through a Go map (rule 27)
#   Mounts                            built from a map by the daemon
#   Config.Env                        the 28 client merges -e through a Go
#                                     map; compared as the effective
#                                     environment (last value per key wins,
#                                     what the container sees: rule 28)
#   object keys                       jq -S
normalise() {
	jq -S --arg given "$2" '
	.[0]
	| .Id as $id
	| (.Name | ltrimstr("/")) as $name
	| del(.Id, .Created, .ResolvConfPath, .HostnamePath, .HostsPath,
	      .LogPath, .GraphDriver, .State.StartedAt, .State.FinishedAt)
	| walk(if type == "string" then
		(split($given) | join("@N@"))
		| if $name != "" then (split($name) | join("@N@")) else . end
	  else . end)
	| .Name = (if $name == $given then "/@N@" else "<auto>" end)
	| if .Config.Hostname == $id[0:12] then .Config.Hostname = "<id>" else . end
	| if .Config.Env then
		.Config.Env |= (reduce .[] as $e ({};
			($e | index("=")) as $i
			| if $i == null then . + {($e): null}
			  else . + {($e[0:$i]): $e[$i + 1:]} end))
	  else . end
	| if .HostConfig.Binds then .HostConfig.Binds |= sort else . end
	| if .Mounts then .Mounts |= (map(
		if .Type == "volume" and ((.Name // "") | test("^[0-9a-f]{64}$"))
		then .Name = "<anon>" | .Source = "<anon>" else . end)
		| sort_by(.Destination, .Source, .Type)) else . end
	' "$1"
}

# Shell-quoted words for the messages.
qwords() {
	local w out=''
	for w in "$@"; do
		if [[ $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
			out+=" $w"
		else
			out+=" $(printf '%q' "$w")"
		fi
	done
	printf '%s' "${out# }"
}

# The error of a failed create, as one line: the first line that is not
# a usage hint, a warning or a deprecation notice, without "docker: ", the
# container name NAME replaced by @N@.
errmsg() {
	grep -v -E "^(See|Run) 'docker|^WARNING|^Flag .* has been deprecated|^Flag shorthand|^$" "$1" |
		head -n 1 | sed -e 's/^docker: //' -e "s/$2/@N@/g" | cut -c1-200
}

first_line() {
	head -n 1 "$1" | cut -c1-200
}

# run_one K: argv K / NCLI with client K % NCLI.  Writes $W/res/K: line 1
# is the status (ok, mismatch, refused, tolerated), line 2 the text for
# the TAP line, the rest diagnostics.
run_one() {
	local k=$1 i c cli line p na nb st desc oa ob
	K=$k # for create(): the ids of test K go to $W/ids/K
	local -a orig canon=() words
	i=$((k / NCLI))
	c=$((k % NCLI))
	cli=${CLIS[$c]}
	line=${CASES[$i]}
	p=$W/tmp/$k
	na=$TAG-$i-$c-a
	nb=$TAG-$i-$c-b
	eval "words=($line)"
	local -a diags=()
	st=ok

	subst "$na" "${words[@]}"
	orig=("${SUBST[@]}")
	create "$p.a" "$cli" "${orig[@]}"
	oa=$(outcome "$p.a")

	if [ -n "$SELFCHECK" ]; then
		subst "$nb" "${words[@]}"
		canon=("${SUBST[@]}")
		crc=0
	else
		# argv_canon sees the placeholders filled in, except @N@, which
		# the canonical argv gets as the b name.
		subst @N@ "${words[@]}"
		"$CANON" "${SUBST[@]}" >"$p.canon" 2>"$p.canonerr"
		crc=$?
		if [ $crc = 0 ]; then
			local -a raw=()
			mapfile -d '' -t raw <"$p.canon"
			# fixed point: parsing the canonical argv gives it back
			if ! "$CANON" "${raw[@]}" >"$p.canon2" 2>&1 || ! cmp -s "$p.canon" "$p.canon2"; then
				st=mismatch
				diags+=("canonical argv is not a fixed point of argv_canon:"
					"  canonical: $(qwords "${raw[@]}")"
					"  again:     $(tr '\0' ' ' <"$p.canon2" | cut -c1-300)")
			fi
			for w in "${raw[@]}"; do canon+=("${w//@N@/$nb}"); done
		fi
	fi

	if [ $crc = 2 ]; then
		st=refused
		desc="refused by userdocker: $(sed 's/^error: //' "$p.canonerr" | head -n 1 | cut -c1-200); original: $oa"
	elif [ $crc != 0 ]; then
		st=mismatch
		desc="argv_canon failed ($crc)"
		diags+=("argv_canon exit $crc: $(first_line "$p.canonerr")")
	else
		create "$p.b" "$cli" "${canon[@]}"
		ob=$(outcome "$p.b")
		case "$oa/$ob" in
		created/created)
			local ida idb
			ida=$(cat "$p.a.id")
			idb=$(cat "$p.b.id")
			"${CLIS[0]}" -H "unix://$UD_SOCK" inspect "$ida" >"$p.a.json" 2>>"$p.a.err" &&
				"${CLIS[0]}" -H "unix://$UD_SOCK" inspect "$idb" >"$p.b.json" 2>>"$p.b.err"
			if ! normalise "$p.a.json" "$na" >"$p.a.norm" 2>>"$p.a.err" ||
				! normalise "$p.b.json" "$nb" >"$p.b.norm" 2>>"$p.b.err"; then
				st=mismatch
				diags+=("inspect or jq failed: $(tail -n 1 "$p.a.err") $(tail -n 1 "$p.b.err")")
			elif ! cmp -s "$p.a.norm" "$p.b.norm"; then
				st=mismatch
				diags+=("inspect differs (--- original, +++ canonical):")
				mapfile -t -n 60 words < <(diff -U 2 "$p.a.norm" "$p.b.norm" | tail -n +3)
				diags+=("${words[@]}")
			fi
			desc="both created"
			;;
		error*/error*)
			desc="both failed"
			local ea eb
			ea=$(errmsg "$p.a.err" "$na")
			eb=$(errmsg "$p.b.err" "$nb")
			if [ "$ea" != "$eb" ]; then
				# allowed, but worth a look: the canonical argv may
				# be read differently and fail for another reason
				st=errdiff
				desc="both failed, differently"
				diags+=("original:  $ea" "canonical: $eb")
			fi
			;;
		nothing/nothing)
			desc="both created nothing (help)"
			;;
		error*/nothing)
			# `create -h` at the end: docker says "flag needs an
			# argument", userdocker asks for the help, which creates
			# nothing either.
			if grep -q -- '--help=true' "$p.canon" 2>/dev/null; then
				st=tolerated
				desc="original failed, canonical printed the help"
			else
				st=mismatch
				desc="original failed, canonical did nothing"
			fi
			;;
		*)
			st=mismatch
			desc="original: $oa, canonical: $ob"
			;;
		esac
		if [ "$st" = mismatch ]; then
			diags=("canonical: $(qwords "${canon[@]}")"
				"original $oa: $(first_line "$p.a.err")"
				"canonical $ob: $(first_line "$p.b.err")"
				"${diags[@]}")
		fi
	fi
	# remove what this argv created, now (disk: vfs copies the image)
	local ids
	ids=$(cat "$p.a.id" "$p.b.id" 2>/dev/null | grep .)
	[ -z "$ids" ] || "${CLIS[0]}" -H "unix://$UD_SOCK" rm -fv $ids >/dev/null 2>&1 &&
		rm -f "$W/ids/$k"
	{
		echo "$st"
		echo "[${CLITAG[$c]}] ${line//$'\n'/ } - $desc"
		local d
		for d in "${diags[@]}"; do printf '%s\n' "$d"; done
	} >"$p.res"
	mv "$p.res" "$W/res/$k"
	[ -n "${UD_DIFF_KEEP:-}" ] || rm -f "$p".*
}

# --- run, JOBS at a time; print the results in order as they come in
N_MISMATCH=0 N_REFUSED=0 N_TOLERATED=0 N_OK=0
REFUSED_LIST=() MISMATCH_LIST=() TOLERATED_LIST=() ERRDIFF_LIST=()
next=0

print_ready() {
	local st text
	while [ $next -lt $NTESTS ] && [ -e "$W/res/$next" ]; do
		{
			IFS= read -r st
			IFS= read -r text
			text=${text//#/\\#}
			case $st in
			ok | refused | tolerated | errdiff)
				echo "ok $((next + 1)) - $text"
				;;
			*)
				echo "not ok $((next + 1)) - $text"
				;;
			esac
			sed 's/^/#   /'
		}<"$W/res/$next"
		case $st in
		ok) N_OK=$((N_OK + 1)) ;;
		refused)
			N_REFUSED=$((N_REFUSED + 1))
			REFUSED_LIST+=("$text")
			;;
		errdiff)
			N_OK=$((N_OK + 1))
			ERRDIFF_LIST+=("$text")
			;;
		tolerated)
			N_TOLERATED=$((N_TOLERATED + 1))
			TOLERATED_LIST+=("$text")
			;;
		*)
			N_MISMATCH=$((N_MISMATCH + 1))
			MISMATCH_LIST+=("$text")
			;;
		esac
		next=$((next + 1))
	done
}

# Only our comparison jobs are waited for: a private dockerd is a job of
# this shell too, and a bare `wait` would wait for it forever.
running=0
pids=()
for ((k = 0; k < NTESTS; k++)); do
	run_one "$k" &
	pids+=($!)
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	print_ready
done
wait "${pids[@]}"
print_ready
[ $next -eq $NTESTS ] || bail "only $next of $NTESTS results came back"

if [ ${#REFUSED_LIST[@]} -gt 0 ]; then
	echo "# refused by userdocker (allowed; see whether docker accepted them):"
	printf '#   %s\n' "${REFUSED_LIST[@]}"
fi
if [ ${#ERRDIFF_LIST[@]} -gt 0 ]; then
	echo "# both failed, with different errors (allowed; the diagnostics above show both):"
	printf '#   %s\n' "${ERRDIFF_LIST[@]}"
fi
if [ ${#TOLERATED_LIST[@]} -gt 0 ]; then
	echo "# tolerated differences:"
	printf '#   %s\n' "${TOLERATED_LIST[@]}"
fi
if [ ${#MISMATCH_LIST[@]} -gt 0 ]; then
	echo "# MISMATCHES:"
	printf '#   %s\n' "${MISMATCH_LIST[@]}"
fi
echo "# differential: $NCASES argvs, $NTESTS comparisons, $N_MISMATCH mismatches, $N_REFUSED refused by userdocker"
echo "# ($N_OK equal, $N_TOLERATED tolerated; wall time $(($(date +%s) - T0))s)"
[ "$N_MISMATCH" -eq 0 ]
