#!/bin/sh
# Unit tests of the Lua policy engine (TAP), run with the system's lua5.4.
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! command -v lua5.4 >/dev/null 2>&1; then
	echo "1..0 # SKIP lua5.4 interpreter not installed (apt-get install lua5.4)"
	exit 0
fi
cd "$top_srcdir" && exec lua5.4 lua/tests/test_engine.lua
