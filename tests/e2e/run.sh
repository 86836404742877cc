#!/bin/sh
# The end-to-end tests as an Automake TESTS entry: the programs behind
# lighttpd, Apache mod_fcgid and Apache mod_proxy_fcgi (tests/e2e/run.py).
# Exit 77 (skip) only when a server is missing and E2E_REQUIRED is unset.
: "${top_srcdir:=$(dirname "$0")/../..}"
: "${top_builddir:=.}"
exec python3 "$top_srcdir/tests/e2e/run.py" --builddir "$top_builddir" \
    --srcdir "$top_srcdir" "$@"
