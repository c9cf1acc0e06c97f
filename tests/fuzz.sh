#!/bin/sh
# A bounded libFuzzer run over parse -> serialize -> parse (the round-trip
# property of tests/unit/fuzz_argv.c), seeded from the argv corpus of the
# tests.  TAP.  UD_FUZZ_SECONDS (default 60) bounds the run.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
secs=${UD_FUZZ_SECONDS:-60}
if ! command -v clang >/dev/null 2>&1; then
	echo "1..0 # SKIP clang not installed (apt-get install clang libclang-rt-14-dev)"
	exit 0
fi
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
echo "1..3"
sh "$top_srcdir/src/gen-flags.sh" "$top_srcdir/data/docker-cli-flags.tsv" >"$work/flags.c"
if clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I"$top_srcdir/src" \
	"$top_srcdir/tests/unit/fuzz_argv.c" "$top_srcdir/src/argv.c" "$top_srcdir/src/error.c" \
	"$work/flags.c" -o "$work/fuzz_argv" 2>"$work/build.log"; then
	echo "ok 1 - fuzz target builds with libFuzzer, ASan and UBSan"
else
	echo "not ok 1 - fuzz target builds"
	sed 's/^/# /' "$work/build.log"
	exit 1
fi
# Seeds: every argv of the differential corpus, NUL-separated.
mkdir "$work/corpus"
n=0
while IFS= read -r line; do
	case $line in '' | '#'*) continue ;; esac
	n=$((n + 1))
	bash -c 'eval "set -- $1"; for a in "$@"; do printf "%s\0" "$a"; done' _ "$line" \
		>"$work/corpus/seed-$n" 2>/dev/null || rm -f "$work/corpus/seed-$n"
done <"$top_srcdir/tests/diff/corpus.txt"
echo "ok 2 - seed corpus: $(ls "$work/corpus" | wc -l) argvs from tests/diff/corpus.txt"
"$work/fuzz_argv" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
runs=$(grep -oE 'Done [0-9]+ runs' "$work/fuzz.log" | grep -oE '[0-9]+' | tail -1)
crashes=$(ls "$work" | grep -cE '^(crash|leak|timeout|oom)-')
if [ "$rc" = 0 ] && [ "$crashes" = 0 ]; then
	echo "ok 3 - fuzz: ${secs}s, ${runs:-?} inputs, 0 crashes"
else
	echo "not ok 3 - fuzz: status $rc, $crashes crashing inputs"
	tail -n 40 "$work/fuzz.log" | sed 's/^/# /'
	for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[ -f "$f" ] && { echo "# input $f:"; od -c "$f" | head -20 | sed 's/^/#   /'; }
	done
	exit 1
fi
