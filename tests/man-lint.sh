#!/bin/bash
# man-lint.sh - every manual page under man/ renders without a warning:
# `mandoc -T lint -W warning` prints nothing for it.  TAP; skipped when
# mandoc is not installed (apt-get install mandoc).
set -u

top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}

if ! command -v mandoc >/dev/null 2>&1; then
	echo "1..0 # SKIP mandoc is not installed"
	exit 0
fi

shopt -s nullglob
pages=("$top"/man/*.[1-8])
if [ ${#pages[@]} -eq 0 ]; then
	echo "1..0 # SKIP no manual pages in $top/man"
	exit 0
fi

n=0
failed=0
for page in "${pages[@]}"; do
	n=$((n + 1))
	name=man/${page##*/}
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	if [ -z "$out" ]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		printf '%s\n' "$out" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
