#!/bin/sh
# The argv unit tests again, built with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run).  TAP.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! pkg-config --exists cmocka 2>/dev/null; then
	echo "1..0 # SKIP cmocka not installed (apt-get install libcmocka-dev)"
	exit 0
fi
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
sh "$top_srcdir/src/gen-flags.sh" "$top_srcdir/data/docker-cli-flags.tsv" >"$work/flags.c"
if ! ${CC:-cc} -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -D_GNU_SOURCE -I"$top_srcdir/src" \
	"$top_srcdir/tests/unit/test_argv.c" "$top_srcdir/src/argv.c" "$top_srcdir/src/error.c" \
	"$work/flags.c" $(pkg-config --cflags --libs cmocka) -o "$work/test_argv" 2>"$work/build.log"; then
	echo "1..1"
	echo "not ok 1 - the unit tests build with ASan and UBSan"
	sed 's/^/# /' "$work/build.log"
	exit 1
fi
CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$work/test_argv"
