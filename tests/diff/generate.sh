#!/bin/sh
# tests/diff/generate.sh - generated argvs for the differential test.
#
#   sh tests/diff/generate.sh [--seed N] [--count N] [--flags data/docker-cli-flags.tsv]
#
# Prints COUNT argvs (default 400), one per line, in the syntax of
# corpus.txt (shell words, placeholders @N@ @F@ @H@ @NET@ @V@).  Each is a
# `create` or `container create` with 1-6 options drawn from the create rows
# of the flag table, written in a random form:
#   --flag=value | --flag value | -xVALUE | -x=VALUE | -x VALUE
#   clusters of bool letters (-itP), with =value on the last one (-it=false)
#   or a trailing value letter (-itu0, -itu=0, -itu 0)
#   bools bare or with every ParseBool spelling
#   integers in decimal, 0x, 0X, 0o, 0b, leading-0 octal, with '_', with '+'
# then sometimes "--", an image, and a command.
#
# Deterministic: the same seed gives the same lines with any awk (the
# random numbers come from a Park-Miller generator, not awk's rand()).
# Values are chosen to be valid most of the time, so that most argvs create
# a container and the inspect comparison has something to compare.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
seed=1
count=400
flags=$here/../../data/docker-cli-flags.tsv
while [ $# -gt 0 ]; do
	case $1 in
	--seed) seed=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--flags) flags=$2; shift 2 ;;
	*) echo "usage: $0 [--seed N] [--count N] [--flags TSV]" >&2; exit 2 ;;
	esac
done

LC_ALL=C awk -F '\t' -v seed="$seed" -v count="$count" '
# ---- random numbers: Park-Miller minimal standard (exact in doubles)
function rnd() {
	state = (state * 16807) % 2147483647
	return state
}
function ri(n) { return rnd() % n }           # 0 .. n-1
function chance(p) { return rnd() / 2147483647 < p }
function pick(s,    a, n) {                    # one of "x|y|z"
	n = split(s, a, "|")
	return a[ri(n) + 1]
}

# ---- integers in odd but valid base-0 spellings
function tobase(v, b,    s, d) {
	if (v == 0)
		return "0"
	s = ""
	while (v > 0) {
		d = v % b
		s = substr("0123456789abcdef", d + 1, 1) s
		v = (v - d) / b
	}
	return s
}
function underscores(s,    out, i) {     # 1000 -> 1_000 (between digits only)
	if (length(s) < 2)
		return s
	out = substr(s, 1, 1)
	for (i = 2; i <= length(s); i++)
		out = out (chance(0.4) ? "_" : "") substr(s, i, 1)
	return out
}
function fmtint(v,    neg, a, r, s) {
	neg = v < 0
	a = neg ? -v : v
	r = ri(9)
	if (r == 0) s = "0x" tobase(a, 16)
	else if (r == 1) s = "0X" toupper(tobase(a, 16))
	else if (r == 2) s = "0o" tobase(a, 8)
	else if (r == 3) s = "0b" tobase(a, 2)
	else if (r == 4) s = (a == 0 ? "00" : "0" tobase(a, 8))
	else if (r == 5) s = underscores(a "")
	else if (r == 6) s = "0x_" tobase(a, 16)
	else s = a ""
	if (neg)
		return "-" s
	return (r == 7 && chance(0.5)) ? "+" s : s
}

# ---- a value for flag f
function value(f,    spec, a, lo, hi) {
	spec = pick(V[f])
	if (spec ~ /^#int:/) {
		split(spec, a, ":")
		lo = a[2] + 0; hi = a[3] + 0
		return fmtint(lo + ri(hi - lo + 1))
	}
	return spec
}
function boolsuffix() {
	if (chance(0.55))
		return ""
	return "=" pick("true|false|1|0|t|f|T|F|TRUE|FALSE|True|False")
}

# ---- shell quoting, as corpus.txt is read with eval
function q(s,    t) {
	if (s ~ /^[A-Za-z0-9_.\/:=@%+,-]+$/)
		return s
	t = s
	gsub(/\047/, "\047\\\047\047", t)
	return "\047" t "\047"
}

# ---- one option, appended to the words W[1..nw]
function add(w) { W[++nw] = w }
function option(    f, v, sh, r, n, i, cl, vf, vl) {
	f = F[ri(nf) + 1]
	sh = S[f]
	if (T[f] == "bool") {
		if (sh != "" && chance(0.4)) {
			# a cluster of bool letters, maybe ending in a value letter
			n = 1 + ri(3)
			cl = ""
			for (i = 0; i < n; i++)
				cl = cl substr(BOOLS, ri(length(BOOLS)) + 1, 1)
			if (chance(0.5)) {
				vf = VALF[ri(nvalf) + 1]
				vl = S[vf]
				v = value(vf)
				r = ri(3)
				if (v == "" || (substr(v, 1, 1) == "-" && r == 2))
					r = 1
				if (r == 0) add("-" cl vl v)
				else if (r == 1) add("-" cl vl "=" v)
				else { add("-" cl vl); add(v) }
			} else {
				add("-" cl boolsuffix())
			}
			return
		}
		add(f boolsuffix())
		return
	}
	v = value(f)
	r = ri(sh != "" ? 5 : 2)
	# a separate value starting with "-" is refused by userdocker; keep
	# a few of those, but mostly use a form that is accepted.
	if (substr(v, 1, 1) == "-" && (r == 1 || r == 4) && !chance(0.1))
		r = (r == 1) ? 0 : 3
	if (v == "" && (r == 2))
		r = 4
	if (r == 0) add(f "=" v)
	else if (r == 1) { add(f); add(v) }
	else if (r == 2) add("-" sh v)
	else if (r == 3) add("-" sh "=" v)
	else { add("-" sh); add(v) }
}

BEGIN {
	state = (seed % 2147483646) + 1
	BOOLS = "itP"   # -q is 28 only: every 20.10 run would just fail

	# Sample values per flag ("|"-separated; "#int:LO:HI" = an integer in
	# a random spelling).  Flags listed in SKIP are left to corpus.txt:
	# they make (nearly) every create fail, or need a setup.
	V["--add-host"] = "h1:1.2.3.4|h2:10.0.0.1|h1:9.9.9.9"
	V["--attach"] = "stdin|stdout|stderr|STDOUT"
	V["--blkio-weight"] = "#int:10:1000|0"
	V["--blkio-weight-device"] = "/dev/null:100"
	V["--cap-add"] = "NET_ADMIN|sys_admin|CAP_CHOWN|all|Sys_Ptrace"
	V["--cap-drop"] = "NET_RAW|chown|CAP_MKNOD|ALL"
	V["--cgroup-parent"] = "/ud-diff-p1|ud-diff-p2"
	V["--cgroupns"] = "host|private"
	V["--cidfile"] = "@F@/@N@.cid"
	V["--cpu-period"] = "#int:1000:1000000"
	V["--cpu-quota"] = "#int:1000:200000|-1"
	V["--cpu-rt-period"] = "0"
	V["--cpu-rt-runtime"] = "0"
	V["--cpu-shares"] = "#int:2:4096|#int:0:1"
	V["--cpus"] = "0.5|1/2|1|1.25|3/2"
	V["--cpuset-cpus"] = "0"
	V["--cpuset-mems"] = "0"
	V["--device"] = "/dev/null|/dev/zero:/dev/z|/dev/null:/dev/n:r"
	V["--device-cgroup-rule"] = "c 1:3 mr|b 7:* rmw|a"
	V["--device-read-bps"] = "/dev/null:1mb"
	V["--device-read-iops"] = "/dev/null:100"
	V["--device-write-bps"] = "/dev/null:2mb"
	V["--device-write-iops"] = "/dev/null:200"
	V["--dns"] = "1.1.1.1|8.8.8.8|::1"
	V["--dns-opt"] = "ndots:2|timeout:1|rotate"
	V["--dns-option"] = "ndots:3|attempts:2"
	V["--dns-search"] = "example.com|a.example"
	V["--domainname"] = "example.com|d.example"
	V["--entrypoint"] = "|sh|/bin/echo|sh -c"
	V["--env"] = "A=1|B=|A=2|UD_DIFF_FOO|S=x y|C=a=b|UD_DIFF_EMPTY"
	V["--env-file"] = "@F@/env1|@F@/env2"
	V["--expose"] = "80|90-91/udp|443/tcp"
	V["--gpus"] = "all|count=1|device=0,1"
	V["--group-add"] = "10|audio|#int:1:999"
	V["--health-cmd"] = "true|exit 0|CMD-SHELL true"
	V["--health-interval"] = "1s|1m30s|500ms|0s"
	V["--health-retries"] = "#int:0:10"
	V["--health-start-period"] = "0s|1h|2m"
	V["--health-timeout"] = "2s|1.5s"
	V["--hostname"] = "h1|a.example|@N@"
	V["--ipc"] = "host|private|shareable|none|container:@H@"
	V["--isolation"] = "default"
	V["--kernel-memory"] = "4m|8MB"
	V["--label"] = "k=v|k2|k=w|a.b.c=1|e="
	V["--label-file"] = "@F@/labels1"
	V["--link"] = "@H@:h|@H@"
	V["--link-local-ip"] = "169.254.1.2"
	V["--log-driver"] = "json-file|local|none"
	V["--log-opt"] = "max-size=1m|max-file=2|max-size=2m"
	V["--mac-address"] = "02:42:ac:11:00:02"
	V["--memory"] = "64m|128M|64MB|64 MiB|67108864|0.125g"
	V["--memory-reservation"] = "32m|16MB"
	V["--memory-swap"] = "-1|512m|1g"
	V["--memory-swappiness"] = "#int:0:100|-1"
	V["--mount"] = "type=bind,src=@F@,dst=/m1|TYPE=TMPFS,DST=/t1|type=volume,dst=/v1|type=bind,source=@F@,target=/m2,readonly|type=volume,src=@V@gm,dst=/v2,ro=true|type=volume,target=/x,type=bind,src=@F@"
	V["--name"] = "@N@"
	V["--net"] = "none|host|default|@NET@|container:@H@"
	V["--net-alias"] = "a1|a2"
	V["--network"] = "none|host|default|@NET@|name=@NET@,alias=n1"
	V["--network-alias"] = "a3"
	V["--oom-score-adj"] = "#int:-1000:1000"
	V["--pid"] = "host|container:@H@"
	V["--pids-limit"] = "#int:-1:10000"
	V["--platform"] = "linux|linux/amd64"
	V["--publish"] = "8080:80|90|127.0.0.1::91|8443:443/udp"
	V["--pull"] = "never|missing"
	V["--restart"] = "no|on-failure:2|always|unless-stopped|on-failure"
	V["--runtime"] = "runc"
	V["--security-opt"] = "no-new-privileges|label=disable|seccomp=unconfined|apparmor=unconfined|systempaths=unconfined|label:disable|seccomp=@F@/seccomp.json"
	V["--shm-size"] = "64m|1g|65536"
	V["--stop-signal"] = "SIGTERM|9|SIGUSR1|KILL"
	V["--stop-timeout"] = "#int:-1:600"
	V["--sysctl"] = "kernel.msgmax=8192|kernel.shmmax=0|net.core.somaxconn=128"
	V["--tmpfs"] = "/t2|/t3:size=1m|/t2:rw,size=64k"
	V["--ulimit"] = "nofile=100:200|nproc=10|core=0|nofile=300"
	V["--user"] = "root|nobody|1000|1000:1000|"
	V["--userns"] = "host|"
	V["--uts"] = "host|"
	V["--volume"] = "@F@:/b1|/anon1|@V@g:/g1|@F@:/b2:ro|@F@:/b1"
	V["--volume-driver"] = "local"
	V["--volumes-from"] = "@H@|@H@:ro"
	V["--workdir"] = "/tmp|/a/b|/"
	split("--help --cpu-count --cpu-percent --io-maxbandwidth --io-maxiops " \
	    "--annotation --health-start-interval --storage-opt --quiet " \
	    "--use-api-socket --disable-content-trust --ip --ip6", a, " ")
	for (i in a)
		SKIP[a[i]] = 1
	nf = 0
	nvalf = 0
}

NR == 1 { next }
$1 == "create" && !($2 in SKIP) {
	f = $2
	T[f] = $4
	S[f] = substr($3, 2)
	if ($4 != "bool" && !(f in V)) {
		if ($4 ~ /^(int|int64)$/)
			V[f] = "#int:0:10"
		else if ($4 ~ /^uint/)
			V[f] = "#int:0:10"
		else {
			printf "generate.sh: no sample value for create %s (%s); skipped\n", f, $4 > "/dev/stderr"
			next
		}
	}
	F[++nf] = f
	if ($4 != "bool" && S[f] != "")
		VALF[++nvalf] = f
}

END {
	if (nf == 0 || nvalf == 0) {
		print "generate.sh: no create flags in the table" > "/dev/stderr"
		exit 1
	}
	for (n = 0; n < count; n++) {
		nw = 0
		if (chance(0.15)) { add("container"); add("create") }
		else add("create")
		k = 1 + ri(6)
		for (j = 0; j < k; j++)
			option()
		if (chance(0.1))
			add("--")
		r = ri(20)
		if (r == 0) {
			add("local/entrypoint")
		} else {
			add(r == 1 ? "local/other" : "local/busybox")
			add(pick("true|true|true|sh|echo"))
			if (chance(0.15))
				add(pick("-c|--rm|--|-it|x y"))
		}
		line = ""
		for (i = 1; i <= nw; i++)
			line = line (i > 1 ? " " : "") q(W[i])
		print line
	}
}
' "$flags"
