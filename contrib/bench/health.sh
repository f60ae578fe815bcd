#!/bin/bash
# contrib/bench/health.sh: what 1,000 HTTPS health checks cost geosteerd.
#
# Starts nginx with an ECDSA P-256 certificate on 100 loopback addresses as
# the Teleport ping endpoint, then geosteerd with 10 services x 10 regions
# x 10 addresses = 1,000 targets checked every 5 s (about 200 probes a
# second, each a new TLS connection), and reports the share of one CPU
# geosteerd uses over a measured window, how late its probes start (from
# the line geosteerd logs at SIGTERM), any target that went down, and the
# CPU nginx used, so that a reader can see the endpoint was not the limit.
# See contrib/bench/README.md. Settings come from the environment:
#
#   GEOSTEERD          geosteerd binary to measure (default: build one)
#   HBENCH_BUILDDIR    where to build it (default $TMPDIR/geosteer-bench-build)
#   HBENCH_SECONDS     length of the measured window (30)
#   HBENCH_WARMUP      seconds between "ready" and the window (10)
#   HBENCH_SERVICES    services (10)
#   HBENCH_REGIONS     regions per service (10)
#   HBENCH_ADDRS       addresses per region (10); regions x addresses
#                      distinct loopback addresses 127.0.1.1..., shared
#                      by all services
#   HBENCH_INTERVAL    check interval, seconds (5)
#   HBENCH_PORT        HTTPS port of nginx on those addresses (18443)
#   HBENCH_DNS_PORT    UDP/TCP port of geosteerd on 127.0.0.1 (15363)
#   HBENCH_NGINX_WORKERS  nginx worker processes (1)
#   HBENCH_MAX_CORE    target: most % of one CPU for geosteerd (15)
#   HBENCH_MAX_LATE    target: most ms any probe may start late (100)
#   HBENCH_SAVE        1: also write the report to contrib/bench/results/
#   HBENCH_KEEP        1: keep the temp dir (configs, certificates, logs)
set -euo pipefail
BENCH_TAG=hbench
# shellcheck source=contrib/bench/lib.sh
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

seconds=${HBENCH_SECONDS:-30}
warmup=${HBENCH_WARMUP:-10}
n_svc=${HBENCH_SERVICES:-10}
n_reg=${HBENCH_REGIONS:-10}
n_addr=${HBENCH_ADDRS:-10}
interval=${HBENCH_INTERVAL:-5}
https_port=${HBENCH_PORT:-18443}
dns_port=${HBENCH_DNS_PORT:-15363}
ngx_workers=${HBENCH_NGINX_WORKERS:-1}
max_core=${HBENCH_MAX_CORE:-15}
max_late=${HBENCH_MAX_LATE:-100}
origin=bench.test
cluster=bench.example.org



for v in seconds warmup n_svc n_reg n_addr interval https_port dns_port \
	ngx_workers max_core max_late; do
	is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
done
if [ "$seconds" -lt 1 ] || [ "$seconds" -gt 3600 ]; then
	die "HBENCH_SECONDS must be 1..3600"
fi
[ "$warmup" -le 600 ] || die "HBENCH_WARMUP must be 0..600"
for v in n_svc n_reg n_addr interval ngx_workers; do
	[ "${!v}" -ge 1 ] || die "$v must be at least 1"
done
n_ips=$((n_reg * n_addr))
[ "$n_ips" -le 2500 ] || die "regions x addresses must be at most 2500"
for v in https_port dns_port; do
	if [ "${!v}" -lt 1024 ] || [ "${!v}" -gt 65000 ]; then
		die "$v must be 1024..65000"
	fi
done
status_port=$((https_port + 1))
n_targets=$((n_svc * n_ips))

# ---- packages --------------------------------------------------------------


# Any of Debian's nginx flavours will do: all have TLS and stub_status.
have_nginx() {
	dpkg-query -W -f='${Status}' nginx-light nginx-core nginx nginx-full \
		nginx-extras 2>/dev/null | grep -q 'ok installed' &&
		command -v nginx >/dev/null
}
have_nginx || need_pkgs nginx-light
command -v nginx >/dev/null || PATH=$PATH:/usr/sbin
command -v nginx >/dev/null || die "nginx is not installed"
# openssl for the certificates, curl to read nginx's stub_status, dig to
# check that geosteerd answers.
need_pkgs openssl curl bind9-dnsutils procps iproute2

# ---- geosteerd binary ------------------------------------------------------

bench_geosteerd "$top" "${HBENCH_BUILDDIR:-${TMPDIR:-/tmp}/geosteer-bench-build}"

# ---- work dir and cleanup --------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/geosteer-hbench.XXXXXX")
chmod 755 "$work" # nginx workers run as nobody and read nothing here,
# but the temp paths below must be reachable for them.
gpid=""
npid=""


cleanup() {
	local rc=$?
	[ -z "$gpid" ] || stop_pid "$gpid"
	# nginx's master stops its workers on SIGTERM (fast shutdown).
	[ -z "$npid" ] || stop_pid "$npid"
	if [ "${HBENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
		echo "hbench: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM


for p in "$https_port" "$status_port" "$dns_port"; do
	port_busy "$p" && die "port $p is already in use"
done

# Target address number i (0-based) -> 127.0.x.y, x from 1, y 1..250.
ip_of() {
	echo "127.0.$((1 + $1 / 250)).$((1 + $1 % 250))"
}

# ---- certificates ----------------------------------------------------------

# A CA and a server certificate for ping.bench.test, both ECDSA P-256:
# the cheapest handshake for both sides, and what a Teleport proxy with a
# modern ACME certificate presents.
pki=$work/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=hbench CA" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout server.key -out server.csr -subj "/CN=ping.$origin"
	printf '%s\n' "subjectAltName=DNS:ping.$origin" \
		"basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days 2 -extfile server.ext -out server.pem
) >"$work/openssl.log" 2>&1 ||
	die "openssl failed: $(tail -n5 "$work/openssl.log")"

# ---- nginx -----------------------------------------------------------------

ngx=$work/nginx
mkdir -p "$ngx/tmp"
{
	cat <<EOF
daemon off;
master_process on;
worker_processes $ngx_workers;
worker_rlimit_nofile 8192;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $ngx/tmp/body;
  proxy_temp_path $ngx/tmp/proxy;
  fastcgi_temp_path $ngx/tmp/fastcgi;
  uwsgi_temp_path $ngx/tmp/uwsgi;
  scgi_temp_path $ngx/tmp/scgi;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache off;
  ssl_session_tickets off;
  server {
EOF
	for ((i = 0; i < n_ips; i++)); do
		echo "    listen $(ip_of "$i"):$https_port ssl;"
	done
	cat <<EOF
    server_name ping.$origin;
    ssl_certificate $pki/server.pem;
    ssl_certificate_key $pki/server.key;
    location = /v1/webapi/ping {
      default_type application/json;
      return 200 '{"cluster_name":"$cluster","server_version":"18.2.1"}';
    }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$status_port;
    location = /status { stub_status; }
  }
}
EOF
} >"$ngx/nginx.conf"

nginx -t -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" \
	>"$ngx/check.log" 2>&1 ||
	die "nginx rejects its config: $(tail -n5 "$ngx/check.log")"
nginx -p "$ngx" -c "$ngx/nginx.conf" -e "$ngx/error.log" \
	>"$ngx/stdout.log" 2>&1 &
npid=$!

ngx_accepts() { # -> connections nginx accepted so far, or nothing
	curl -s --max-time 2 --noproxy '*' "http://127.0.0.1:$status_port/status" |
		awk 'NR == 3 { print $1 }'
}

ok=0
for ((i = 0; i < 50; i++)); do
	kill -0 "$npid" 2>/dev/null || break
	if curl -s --max-time 2 --noproxy '*' --cacert "$pki/ca.pem" \
		--resolve "ping.$origin:$https_port:$(ip_of $((n_ips - 1)))" \
		"https://ping.$origin:$https_port/v1/webapi/ping" 2>/dev/null |
		grep -q "\"$cluster\""; then
		ok=1
		break
	fi
	sleep 0.2
done
[ "$ok" = 1 ] || die "nginx did not answer on $(ip_of $((n_ips - 1))):$https_port" \
	"within 10 s: $(tail -n5 "$ngx/error.log" 2>/dev/null)"

# ---- geosteerd -------------------------------------------------------------

gs=$work/geosteerd
mkdir -p "$gs"
cp "$pki/ca.pem" "$gs/ca.pem"
cat >"$gs/$origin.zone" <<EOF
\$ORIGIN $origin.
\$TTL 300
@    IN SOA ns1 hostmaster 1 3600 600 86400 60
@    IN NS  ns1
ns1  IN A   127.0.0.1
EOF
{
	cat <<EOF
{
  "listen": ["127.0.0.1:$dns_port"],
  "workers": 1,
  "control_socket": "control.sock",
  "state_file": "state.json",
  "zones": [ { "origin": "$origin", "file": "$origin.zone" } ],
  "services": [
EOF
	for ((s = 1; s <= n_svc; s++)); do
		cat <<EOF
    {
      "name": "svc$s",
      "hosts": ["svc$s.$origin"],
      "ttl": 30,
      "check": {
        "url": "https://ping.$origin:$https_port/v1/webapi/ping",
        "interval": $interval, "timeout": 3, "rise": 2, "fall": 3,
        "ca_file": "ca.pem",
        "teleport": { "cluster_name": "$cluster" }
      },
      "regions": [
EOF
		for ((r = 0; r < n_reg; r++)); do
			addrs=""
			for ((a = 0; a < n_addr; a++)); do
				addrs="$addrs${addrs:+, }\"$(ip_of $((r * n_addr + a)))\""
			done
			# Regions spread over the globe; where they are does not
			# matter to the checks.
			printf '        { "name": "r%d", "lat": %d, "lon": %d, "addresses": [%s] }%s\n' \
				"$r" $((-60 + (r * 120) / n_reg)) $((-170 + (r * 340) / n_reg)) \
				"$addrs" "$([ "$r" -lt $((n_reg - 1)) ] && echo ,)"
		done
		echo "      ]"
		echo "    }$([ "$s" -lt "$n_svc" ] && echo ,)"
	done
	echo "  ]"
	echo "}"
} >"$gs/geosteer.json"

"$GEOSTEERD" -c "$gs/geosteer.json" --check >"$gs/check.log" 2>&1 ||
	die "geosteerd rejects the config: $(tail -n5 "$gs/check.log")"

tck=$(getconf CLK_TCK)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

proc_ticks() { # pid...: utime+stime of all their threads, in ticks
	local p
	for p in "$@"; do cat "/proc/$p/stat" 2>/dev/null || true; done |
		awk '{ sub(/^.*\) /, ""); n += $12 + $13 } END { print n + 0 }'
}

proc_sticks() { # pid: stime alone, in ticks
	awk '{ sub(/^.*\) /, ""); print $13 }' "/proc/$1/stat"
}

ngx_pids() { # nginx's master and its workers
	echo "$npid"
	ps -o pid= --ppid "$npid" 2>/dev/null | awk '{ print $1 }' || true
}

# The first round of checks runs before "ready": geosteerd answers only
# once every target has a verdict (or the longest timeout has passed).
echo "hbench: geosteerd ($("$GEOSTEERD" -V 2>&1 | head -n1)) with $n_targets" \
	"targets ($n_svc services x $n_reg regions x $n_addr addresses)," \
	"every $interval s, against nginx on $n_ips addresses, port $https_port"
"$GEOSTEERD" -c "$gs/geosteer.json" >"$gs/server.log" 2>&1 &
gpid=$!
t_start=$(date +%s.%N)
ok=0
for ((i = 0; i < 300; i++)); do
	kill -0 "$gpid" 2>/dev/null || break
	if grep -q 'ready:' "$gs/server.log"; then
		ok=1
		break
	fi
	sleep 0.1
done
if [ "$ok" != 1 ]; then
	tail -n20 "$gs/server.log" >&2
	die "geosteerd did not log \"ready\" within 30 s"
fi
t_ready=$(date +%s.%N)

# A steered name answers with addresses of one region.
answer=$(dig +norec +short +time=2 +tries=1 -p "$dns_port" @127.0.0.1 \
	"svc1.$origin" A 2>/dev/null | sort -V | paste -sd' ')
case $answer in
127.0.*) ;;
*) die "svc1.$origin A from geosteerd: '$answer', expected loopback addresses" ;;
esac
echo "hbench: ready after $(awk -v a="$t_start" -v b="$t_ready" \
	'BEGIN { printf "%.1f", b - a }') s; svc1.$origin A -> $answer"

if [ "$warmup" -gt 0 ]; then
	echo "hbench: warming up for $warmup s"
	sleep "$warmup"
fi
kill -0 "$gpid" 2>/dev/null || die "geosteerd died: $(tail -n5 "$gs/server.log")"

# The window: CPU of both sides at its ends, and nginx's accepted
# connections once a second to see how even the probe rate is.
echo "hbench: measuring for $seconds s"
mapfile -t npids < <(ngx_pids)
g0=$(proc_ticks "$gpid")
gs0=$(proc_sticks "$gpid")
n0=$(proc_ticks "${npids[@]}")
a_first=$(ngx_accepts)
w0=$(date +%s.%N)
: >"$work/accepts.txt"
end=$(awk -v w="$w0" -v s="$seconds" 'BEGIN { printf "%.3f", w + s }')
while :; do
	now=$(date +%s.%N)
	awk -v n="$now" -v e="$end" 'BEGIN { exit !(n < e) }' || break
	left=$(awk -v n="$now" -v e="$end" \
		'BEGIN { d = e - n; printf "%.3f", d < 1 ? d : 1 }')
	sleep "$left"
	echo "$(date +%s.%N) $(ngx_accepts)" >>"$work/accepts.txt"
done
g1=$(proc_ticks "$gpid")
gs1=$(proc_sticks "$gpid")
n1=$(proc_ticks "${npids[@]}")
w1=$(date +%s.%N)
a_last=$(ngx_accepts)
kill -0 "$gpid" 2>/dev/null || die "geosteerd died: $(tail -n5 "$gs/server.log")"
rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$gpid/status")
threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$gpid/status")
fds=$(find "/proc/$gpid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
answer2=$(dig +norec +short +time=2 +tries=1 -p "$dns_port" @127.0.0.1 \
	"svc$n_svc.$origin" A 2>/dev/null | wc -l)

stop_pid "$gpid"
gpid=""
t_stop=$(date +%s.%N)

# ---- results ---------------------------------------------------------------

window=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", b - a }')
g_cpu=$(awk -v t=$((g1 - g0)) -v k="$tck" -v w="$window" \
	'BEGIN { printf "%.1f", 100 * t / k / w }')
g_sys=$(awk -v t=$((gs1 - gs0)) -v k="$tck" -v w="$window" \
	'BEGIN { printf "%.1f", 100 * t / k / w }')
n_cpu=$(awk -v t=$((n1 - n0)) -v k="$tck" -v w="$window" \
	'BEGIN { printf "%.1f", 100 * t / k / w }')
hs_rate=$(awk -v a="${a_first:-0}" -v b="${a_last:-0}" -v w="$window" \
	'BEGIN { printf "%.0f", (b - a) / w }')
# Busiest and quietest second (stub_status connections count as well,
# one per sample).
read -r hs_min hs_max < <(awk '
	$2 != "" { if (pt != "") { r = ($2 - pa - 1) / ($1 - pt)
			if (mn == "" || r < mn) mn = r; if (r > mx) mx = r }
		pt = $1; pa = $2 }
	END { if (mn == "") print "- -"; else printf "%.0f %.0f\n", mn, mx }' \
	"$work/accepts.txt")
us_probe=$(awk -v t=$((g1 - g0)) -v k="$tck" -v a="${a_first:-0}" \
	-v b="${a_last:-0}" 'BEGIN { n = b - a; if (n > 0)
		printf "%.0f", 1e6 * t / k / n; else print "-" }')

# "health: N probes started; steady state: N2, X ms late on average, Y ms
# at most; first round: N1, X ms late on average, Y ms at most"
late_re='health: ([0-9]+) probes started; steady state: ([0-9]+), ([0-9.]+) ms late on average, ([0-9.]+) ms at most; first round: ([0-9]+), ([0-9.]+) ms late on average, ([0-9.]+) ms at most'
late_line=$(grep -E "$late_re" "$gs/server.log" | tail -n1 || true)
probes=- late_avg=- late_max=- first_n=- first_avg=- first_max=-
if [ -n "$late_line" ]; then
	read -r probes _ late_avg late_max first_n first_avg first_max \
		< <(echo "$late_line" | sed -E "s/.*$late_re.*/\\1 \\2 \\3 \\4 \\5 \\6 \\7/")
fi
life=$(awk -v a="$t_start" -v b="$t_stop" 'BEGIN { printf "%.0f", b - a }')
downs=$(grep -c 'health: .* down (' "$gs/server.log" || true)
# Down transitions logged before "ready" come from the first round.
downs_first=$(awk '/ready:/ { exit } /health: .* down \(/ { n++ } END { print n + 0 }' \
	"$gs/server.log")
ups=$(grep -cE 'health: \S+/\S+ \S+ up( |$)' "$gs/server.log" || true)
warns=$(grep -E 'geosteerd\[(warn|warning|err|error|crit)' "$gs/server.log" |
	grep -vc 'health: .* down (' || true)
ngx_errs=$(grep -cE '\[(error|crit|alert|emerg)\]' "$ngx/error.log" 2>/dev/null || true)

verdict_core=FAIL verdict_late=FAIL
awk -v c="$g_cpu" -v m="$max_core" 'BEGIN { exit !(c < m) }' && verdict_core=PASS
if [ "$late_max" != - ]; then
	awk -v l="$late_max" -v m="$max_late" 'BEGIN { exit !(l <= m) }' &&
		verdict_late=PASS
fi

report() {
	local cpu_model ncpu
	cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	ncpu=$(nproc)
	echo "geosteer health-check bench, $started"
	echo "host: $ncpu CPUs ($cpu_model), $(uname -sr), load before" \
		"$load_before, open files limit $(ulimit -n)"
	echo "geosteerd: $("$GEOSTEERD" -V 2>&1 | head -n1); libcurl" \
		"$(curl --version | awk 'NR == 1 { print $2 }'), workers=1"
	echo "endpoint: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $ngx_workers" \
		"worker, ECDSA P-256, on $n_ips loopback addresses" \
		"$(ip_of 0)..$(ip_of $((n_ips - 1))):$https_port"
	echo "targets: $n_targets ($n_svc services x $n_reg regions x $n_addr" \
		"addresses), interval $interval s (jittered), timeout 3 s," \
		"rise 2, fall 3, fresh TLS connection per probe"
	echo "window: $window s after $warmup s of warm-up; geosteerd ran $life s"
	echo
	printf '%-34s %s\n' "geosteerd CPU (share of one core)" "$g_cpu %"
	printf '%-34s %s\n' "  of which in the kernel" "$g_sys %"
	printf '%-34s %s\n' "  per probe" "$us_probe us"
	printf '%-34s %s\n' "nginx CPU (master + workers)" "$n_cpu %"
	printf '%-34s %s\n' "TLS connections/s at nginx" \
		"$hs_rate (per second: $hs_min..$hs_max; expected ~$((n_targets / interval)))"
	printf '%-34s %s\n' "probes started (whole run)" "$probes"
	printf '%-34s %s\n' "probe lateness, steady state" \
		"$late_avg ms average, $late_max ms at most"
	printf '%-34s %s\n' "probe lateness, first round" \
		"$first_avg ms average, $first_max ms at most ($first_n probes)"
	printf '%-34s %s\n' "up / down transitions" \
		"$ups / $downs ($downs_first of the downs before \"ready\")"
	printf '%-34s %s\n' "other warnings/errors in its log" "$warns"
	printf '%-34s %s\n' "nginx errors logged" "$ngx_errs"
	printf '%-34s %s\n' "geosteerd RSS / threads / fds" "$rss kB / $threads / $fds"
	printf '%-34s %s\n' "svc$n_svc A answers at the end" "$answer2 addresses"
	echo
	echo "$verdict_core  geosteerd CPU $g_cpu % (target: under $max_core % of one core)"
	echo "$verdict_late  probes at most $late_max ms late in the steady state" \
		"(target: at most $max_late ms; first round: $first_max ms)"
	if [ "${downs:-0}" -gt 0 ]; then
		echo "note: $downs down transitions ($downs_first in the first round," \
			"before \"ready\"); every endpoint was healthy, so each one" \
			"is a false alarm. The first ones:"
		grep 'health: .* down (' "$gs/server.log" | head -n5 | sed 's/^/  /'
	fi
	if [ "$late_line" = "" ]; then
		echo "note: geosteerd logged no lateness line at SIGTERM:"
		tail -n3 "$gs/server.log" | sed 's/^/  /'
	fi
	awk -v c="$n_cpu" 'BEGIN { exit !(c >= 80) }' &&
		echo "note: nginx used $n_cpu % of a CPU; it may have been the limit"
	awk -v l="$load_before" 'BEGIN { split(l, a, " "); exit !(a[1] >= 1) }' &&
		echo "note: the box was busy before the run (load $load_before);" \
			"lateness and CPU shares are worse on a busy box"
	return 0
}

out=$work/report.txt
report | tee "$out"

if [ "${HBENCH_SAVE:-0}" = 1 ]; then
	mkdir -p "$here/results"
	base=$here/results/health-$(date -u +%Y-%m-%d)
	dest=$base.txt
	i=2
	while [ -e "$dest" ] && [ "$i" -lt 100 ]; do
		dest=$base-$i.txt
		i=$((i + 1))
	done
	[ -e "$dest" ] && die "too many results for today in $here/results"
	cp "$out" "$dest"
	echo "hbench: saved $dest"
fi
