# shellcheck shell=sh
# builddir.sh: sourced by demo.sh and check.sh. Installs what is missing,
# generates configure when the tree has none, and enters build/. Sets $top.
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/deps.sh"
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
