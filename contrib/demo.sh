#!/bin/sh
# The demo: installs what is missing, builds, starts geosteerd on
# 127.0.0.1:5300 with zones/example.org.zone and a "teleport" service in
# three regions located through Debian's tor-geoipdb, asks it a few
# questions with dig, drains a region with the geosteer CLI and shows the
# answers move, then stops it.
set -eu
# shellcheck source=contrib/builddir.sh
. "$(dirname "$0")/builddir.sh"
[ -f Makefile ] || ../configure -q
make -j"$(nproc)" geosteerd geosteer

port=${GS_DEMO_PORT:-5300}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat >"$dir/nets.txt" <<NETS
# Clients of the demo: loopback source addresses placed by hand.
127.0.0.2/32 eu-west-1
127.0.0.3/32 JP
NETS
cat >"$dir/demo.conf" <<CONF
{
  "listen": ["127.0.0.1:$port", "[::1]:$port"],
  "workers": 1,
  "nsid": "demo.geosteer",
  "control_socket": "run/control.sock",
  "state_file": "state/state.json",
  "zones": [ { "origin": "example.org", "file": "$top/zones/example.org.zone" } ],
  "geoip": {
    "databases": ["/usr/share/tor/geoip", "/usr/share/tor/geoip6"],
    "overrides": "nets.txt"
  },
  "services": [ {
    "name": "teleport",
    "hosts": ["teleport.example.org", "*.teleport.example.org"],
    "ttl": 30,
    "regions": [
      { "name": "us-east-1", "lat": 38.9, "lon": -77.4, "addresses": ["192.0.2.10", "2001:db8::10"] },
      { "name": "eu-west-1", "lat": 53.3, "lon": -6.3, "addresses": ["198.51.100.10"] },
      { "name": "ap-south-1", "lat": 19.1, "lon": 72.9, "addresses": ["203.0.113.10"] }
    ]
  } ]
}
CONF
./geosteerd -c "$dir/demo.conf" --check
./geosteerd -c "$dir/demo.conf" &
pid=$!
trap 'kill "$pid" 2>/dev/null || :; wait "$pid" 2>/dev/null || :; rm -rf "$dir"' EXIT
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
echo "== steering: teleport.example.org from clients in different places"
for c in "-b 127.0.0.1" "-b 127.0.0.2" "-b 127.0.0.3"; do
	# shellcheck disable=SC2086
	printf '%-16s -> %s\n' "$c" \
		"$(dig +short $c @127.0.0.1 -p "$port" teleport.example.org A)"
done
# Addresses that tor-geoipdb places in Germany and in Japan.
de=$(awk -F, '$3 == "DE" { print $1 + 1; exit }' /usr/share/tor/geoip)
jp=$(awk -F, '$3 == "JP" { print $1 + 1; exit }' /usr/share/tor/geoip)
for n in "$de" "$jp"; do
	a=$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))
	echo "-- ECS client $a/24:"
	dig +norec +subnet="$a/24" @127.0.0.1 -p "$port" app.teleport.example.org A |
		grep -E 'CLIENT-SUBNET|^app'
done
echo "== dig over TCP and IPv6, with NSID"
dig +tcp +nsid +norec +short @::1 -p "$port" www.example.org A
ctl() {
	echo "\$ geosteer $*"
	./geosteer -s "$dir/run/control.sock" "$@"
}
echo "== manual steering with the geosteer CLI"
ctl explain 127.0.0.2
ctl drain eu-west-1 --reason "demo: kernel update" --for 10m
printf '%-16s -> %s\n' "-b 127.0.0.2" \
	"$(dig +short -b 127.0.0.2 @127.0.0.1 -p "$port" teleport.example.org A)"
ctl status
ctl undrain eu-west-1
printf '%-16s -> %s\n' "-b 127.0.0.2" \
	"$(dig +short -b 127.0.0.2 @127.0.0.1 -p "$port" teleport.example.org A)"
kill "$pid"
wait "$pid"
trap 'rm -rf "$dir"' EXIT
echo "demo done: geosteerd answered and stopped cleanly"
