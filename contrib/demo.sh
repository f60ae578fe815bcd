#!/bin/sh
# The demo: installs what is missing, builds, starts geosteerd on
# 127.0.0.1:5300 with zones/example.org.zone and asks it a few questions
# with dig, then stops it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/contrib/deps.sh"
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" geosteerd

port=${GS_DEMO_PORT:-5300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/demo.conf" <<CONF
{
  "listen": ["127.0.0.1:$port", "[::1]:$port"],
  "workers": 1,
  "nsid": "demo.geosteer",
  "zones": [ { "origin": "example.org", "file": "$top/zones/example.org.zone" } ]
}
CONF
./geosteerd -c "$dir/demo.conf" --check
./geosteerd -c "$dir/demo.conf" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
i=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" example.org SOA \
	>/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "geosteerd did not answer" >&2; exit 1; }
	sleep 0.1
done
for q in "example.org SOA" "www.example.org A" "www.example.org AAAA" \
	"alias.example.org A" "host.sub.example.org A" "nope.example.org A"; do
	echo "== dig @127.0.0.1 -p $port $q"
	# shellcheck disable=SC2086
	dig +norec +nocmd +nostats +noquestion @127.0.0.1 -p "$port" $q
done
echo "== dig over TCP and IPv6, with NSID"
dig +tcp +nsid +norec +short @::1 -p "$port" www.example.org A
kill "$pid"
wait "$pid"
echo "demo done: geosteerd answered and stopped cleanly"
