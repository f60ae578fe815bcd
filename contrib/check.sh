#!/bin/sh
# Runs the whole test suite: installs what is missing, builds in build/
# with warnings as errors and ASan+UBSan, then runs unit, fuzz-corpus and
# integration tests (make check). Extra configure flags: $GS_CONFIGURE.
set -eu
# shellcheck source=contrib/builddir.sh
. "$(dirname "$0")/builddir.sh"
# shellcheck disable=SC2086
../configure -q --enable-werror --enable-sanitizers ${GS_CONFIGURE:-}
make -j"$(nproc)"
GS_REQUIRE_TOOLS=1 make -j"$(nproc)" check || {
	cat test-suite.log
	exit 1
}
