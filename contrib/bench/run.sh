#!/bin/bash
# contrib/bench/run.sh: geosteerd next to gdnsd and Knot DNS under dnsperf.
#
# Serves one zone from all three servers, each on its own 127.0.0.1 port
# with one query thread, starts them one at a time, loads each with dnsperf
# and prints queries per second, latency, lost queries, server CPU and
# memory, with the ratios of geosteerd to the others from the same run.
# See contrib/bench/README.md. Settings come from the environment:
#
#   GEOSTEERD          geosteerd binary to measure (default: build one)
#   BENCH_BUILDDIR     where to build it (default $TMPDIR/geosteer-bench-build)
#   BENCH_SECONDS      length of the throughput run per server (10)
#   BENCH_CLIENTS      dnsperf -c, client sockets (8)
#   BENCH_OUTSTANDING  dnsperf -q, queries in flight (100)
#   BENCH_LAT_QPS      offered rate of the latency run, queries/s (20000)
#   BENCH_LAT_SECONDS  length of the latency run per server (5; 0 skips it)
#   BENCH_EDNS         1: queries carry EDNS0 like resolver traffic (1)
#   BENCH_ROUNDS       runs per server, taken in turn; medians reported (1)
#   BENCH_PIN          1: server on the last CPU, dnsperf on the others (0)
#   BENCH_PORT         first of three UDP/TCP ports on 127.0.0.1 (15353)
#   BENCH_ZONE         zone file, origin example.org (zones/example.org.zone)
#   BENCH_QUERIES      dnsperf query file (contrib/bench/queries.txt)
#   BENCH_SERVERS      which servers, in order ("geosteerd gdnsd knot")
#   BENCH_CALLGRIND    N > 0: also count user-space instructions per query
#                      under valgrind's callgrind over N queries (0)
#   BENCH_SAVE         1: also write the report to contrib/bench/results/
#   BENCH_KEEP         1: keep the temp dir (configs, logs, dnsperf output)
set -euo pipefail
BENCH_TAG=bench
# shellcheck source=contrib/bench/lib.sh
. "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

seconds=${BENCH_SECONDS:-10}
clients=${BENCH_CLIENTS:-8}
outstanding=${BENCH_OUTSTANDING:-100}
lat_qps=${BENCH_LAT_QPS:-20000}
lat_seconds=${BENCH_LAT_SECONDS:-5}
edns=${BENCH_EDNS:-1}
pin=${BENCH_PIN:-0}
rounds=${BENCH_ROUNDS:-1}
cg_queries=${BENCH_CALLGRIND:-0}
port0=${BENCH_PORT:-15353}
zone=${BENCH_ZONE:-$top/zones/example.org.zone}
queries=${BENCH_QUERIES:-$here/queries.txt}
servers=${BENCH_SERVERS:-geosteerd gdnsd knot}
origin=example.org



for v in seconds clients outstanding lat_qps lat_seconds port0 rounds cg_queries; do
	is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
done
if [ "$seconds" -lt 1 ] || [ "$seconds" -gt 3600 ]; then
	die "BENCH_SECONDS must be 1..3600"
fi
if [ "$rounds" -lt 1 ] || [ "$rounds" -gt 20 ]; then
	die "BENCH_ROUNDS must be 1..20"
fi
if [ "$port0" -lt 1024 ] || [ "$port0" -gt 65000 ]; then
	die "BENCH_PORT must be 1024..65000"
fi
[ -r "$zone" ] || die "cannot read zone file $zone"
[ -r "$queries" ] || die "cannot read query file $queries"
for s in $servers; do
	case $s in geosteerd | gdnsd | knot) ;; *) die "unknown server '$s'" ;; esac
done

# ---- packages --------------------------------------------------------------


# dnsperf; gdnsd and knot for the servers; ldnsutils to rewrite the zone
# for gdnsd; bind9-dnsutils for dig (readiness and answer checks).
need_pkgs dnsperf gdnsd knot ldnsutils bind9-dnsutils coreutils util-linux
[ "$cg_queries" -eq 0 ] || need_pkgs valgrind

# ---- geosteerd binary ------------------------------------------------------

bench_geosteerd "$top" "${BENCH_BUILDDIR:-${TMPDIR:-/tmp}/geosteer-bench-build}"

# ---- work dir and cleanup --------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/geosteer-bench.XXXXXX")
pids=""


cleanup() {
	local p
	for p in $pids; do stop_pid "$p"; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept configs and logs in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- CPU placement ---------------------------------------------------------

ncpu=$(nproc)
srv_cpu="" cli_cpus=""
if [ "$pin" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
	srv_cpu=$((ncpu - 1))
	cli_cpus="0-$((ncpu - 2))"
fi
# A plain command prefix, not a function: "${srv_pin[@]}" cmd & must leave
# the server itself in $!, and taskset execs what it runs.
srv_pin=()
[ -z "$srv_cpu" ] || srv_pin=(taskset -c "$srv_cpu")
cli_run() {
	if [ -n "$cli_cpus" ]; then taskset -c "$cli_cpus" "$@"; else "$@"; fi
}

# ---- per-server configuration ----------------------------------------------


port_of() {
	case $1 in geosteerd) echo "$port0" ;; gdnsd) echo $((port0 + 1)) ;;
	knot) echo $((port0 + 2)) ;; esac
}

threads_of() {
	case $1 in
	geosteerd) echo "workers=1" ;;
	gdnsd) echo "udp_threads=1 tcp_threads=1" ;;
	knot) echo "udp-workers=1 tcp-workers=1 background-workers=1" ;;
	esac
}

version_of() {
	case $1 in
	geosteerd) "$GEOSTEERD" -V 2>&1 | head -n1 ;;
	gdnsd) echo "gdnsd $(dpkg-query -W -f='${Version}' gdnsd 2>/dev/null)" ;;
	knot) knotd -V 2>&1 | head -n1 ;;
	esac
}

write_config() { # server dir port
	local s=$1 d=$2 port=$3
	mkdir -p "$d"
	case $s in
	geosteerd)
		cp "$zone" "$d/$origin.zone"
		cat >"$d/geosteer.json" <<EOF
{
  "listen": ["127.0.0.1:$port"],
  "workers": 1,
  "control_socket": "control.sock",
  "state_file": "state.json",
  "zones": [ { "origin": "$origin", "file": "$d/$origin.zone" } ]
}
EOF
		"$GEOSTEERD" -c "$d/geosteer.json" --check >"$d/check.log" 2>&1 ||
			die "geosteerd rejects the config: $(cat "$d/check.log")"
		;;
	gdnsd)
		# gdnsd 3 knows A AAAA NS PTR CNAME SOA MX SRV TXT NAPTR CAA and
		# takes any other type in RFC 3597 generic form, which ldns
		# writes for us. The wire data stays the same; a DNAME becomes
		# plain data that gdnsd never synthesizes from.
		mkdir -p "$d/zones" "$d/run" "$d/state"
		ldns-read-zone -U A -U AAAA -U NS -U PTR -U CNAME -U SOA -U MX \
			-U SRV -U TXT -U NAPTR -U CAA "$zone" \
			>"$d/zones/$origin" 2>"$d/ldns.log" ||
			die "ldns-read-zone cannot read $zone: $(cat "$d/ldns.log")"
		cat >"$d/config" <<EOF
options => {
  listen => [ 127.0.0.1:$port ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => $d/run
  state_dir => $d/state
}
EOF
		gdnsd -c "$d" checkconf >"$d/check.log" 2>&1 ||
			die "gdnsd rejects the config: $(cat "$d/check.log")"
		;;
	knot)
		mkdir -p "$d/run" "$d/db"
		cp "$zone" "$d/db/$origin.zone"
		cat >"$d/knot.conf" <<EOF
server:
    rundir: "$d/run"
    pidfile: "$d/run/knot.pid"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "$d/run/knot.sock"
log:
  - target: stderr
    any: info
database:
    storage: "$d/db"
template:
  - id: default
    storage: "$d/db"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: $origin
    file: "$origin.zone"
EOF
		;;
	esac
}

start_server() { # server dir [wrapper...] -> sets $spid
	local s=$1 d=$2
	shift 2
	case $s in
	geosteerd) "${srv_pin[@]}" "$@" "$GEOSTEERD" -c "$d/geosteer.json" \
		>"$d/server.log" 2>&1 & ;;
	gdnsd) "${srv_pin[@]}" "$@" gdnsd -c "$d" start >"$d/server.log" 2>&1 & ;;
	knot) "${srv_pin[@]}" "$@" knotd -c "$d/knot.conf" >"$d/server.log" 2>&1 & ;;
	esac
	spid=$!
	pids="$pids $spid"
}

wait_ready() { # pid port [seconds]: up to 10 s for SOA over UDP and TCP
	local pid=$1 port=$2 limit=${3:-10} i t ok
	for ((i = 0; i < limit * 5; i++)); do
		kill -0 "$pid" 2>/dev/null || return 1
		ok=1
		for t in +notcp +tcp; do
			dig "$t" +norec +time=1 +tries=1 -p "$port" @127.0.0.1 \
				"$origin" SOA 2>/dev/null | grep -q 'status: NOERROR' ||
				ok=0
		done
		[ "$ok" = 0 ] || return 0
		sleep 0.2
	done
	return 1
}

# One line per distinct query: rcode and section counts, to compare servers.
probe_answers() { # port out
	local port=$1 out=$2 name type
	sort -u "$queries" | while read -r name type; do
		[ -n "$name" ] || continue
		dig +norec +time=2 +tries=1 -p "$port" @127.0.0.1 "$name" "$type" \
			2>/dev/null | awk -v q="$name $type" '
			/status:/ { sub(/,.*/, "", $6); st = $6 }
			/ANSWER:/ { gsub(/[,;]/, "")
				for (i = 1; i < NF; i++) c[$i] = $(i + 1) }
			END { printf "%-30s %-8s an=%s au=%s ad=%s\n", q, st,
				c["ANSWER:"], c["AUTHORITY:"], c["ADDITIONAL:"] }'
	done >"$out"
}

proc_cpu_ticks() { # pid: utime+stime of all threads
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

proc_kb() { # pid field
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# dnsperf summary line -> value
perf_val() { # file label
	awk -v l="$2" 'index($0, l) { sub(/^[^:]*:[ \t]*/, ""); print; exit }' "$1"
}

dnsperf_args=(-s 127.0.0.1 -d "$queries" -c "$clients" -T 1 -t 2)
[ "$edns" = 1 ] && dnsperf_args+=(-e)

# ---- the runs --------------------------------------------------------------

tck=$(getconf CLK_TCK)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A R

# Voluntary context switches are the server waiting for work; involuntary
# ones are it being preempted, by dnsperf or by anything else on the box.
proc_nvcsw() { # pid: involuntary context switches over all threads
	cat "/proc/$1/task/"*/status 2>/dev/null |
		awk '$1 == "nonvoluntary_ctxt_switches:" { n += $2 } END { print n + 0 }'
}

measure() { # server round: one start, throughput run, latency run, stop
	local s=$1 r=$2 port d f c0 c1 n0 n1
	port=$(port_of "$s")
	d=$work/$s
	port_busy "$port" && die "port $port on 127.0.0.1 is already in use"
	start_server "$s" "$d"
	if ! wait_ready "$spid" "$port"; then
		cat "$d/server.log" >&2
		die "$s did not answer on 127.0.0.1:$port within 10 s"
	fi
	[ "$r" -gt 1 ] || probe_answers "$port" "$d/probe.txt"
	R[$s.threads]=$(proc_kb "$spid" Threads)
	R[$s.rss0.$r]=$(proc_kb "$spid" VmRSS)

	# Throughput: as fast as the window of outstanding queries allows.
	f=$d/dnsperf.$r.txt
	c0=$(proc_cpu_ticks "$spid")
	n0=$(proc_nvcsw "$spid")
	cli_run timeout $((seconds + 30)) dnsperf "${dnsperf_args[@]}" \
		-p "$port" -q "$outstanding" -l "$seconds" >"$f" 2>&1 ||
		die "dnsperf failed against $s: $(tail -n5 "$f")"
	c1=$(proc_cpu_ticks "$spid")
	n1=$(proc_nvcsw "$spid")
	kill -0 "$spid" 2>/dev/null ||
		die "$s died under load: $(tail -n5 "$d/server.log")"

	R[$s.qps.$r]=$(perf_val "$f" "Queries per second:" |
		awk '{ printf "%.0f", $1 }')
	R[$s.done.$r]=$(perf_val "$f" "Queries completed:" | awk '{ print $1 }')
	R[$s.lost.$r]=$(perf_val "$f" "Queries lost:" | awk '{ print $1 }')
	R[$s.avg.$r]=$(perf_val "$f" "Average Latency" |
		awk '{ printf "%.3f", $1 * 1000 }')
	R[$s.max.$r]=$(perf_val "$f" "Average Latency" |
		awk '{ gsub(/[(),]/, ""); printf "%.3f", $5 * 1000 }')
	R[$s.sd.$r]=$(perf_val "$f" "Latency StdDev" |
		awk '{ printf "%.3f", $1 * 1000 }')
	R[$s.rcodes]=$(perf_val "$f" "Response codes:")
	R[$s.cpu.$r]=$(awk -v t=$((c1 - c0)) -v k="$tck" -v s="$seconds" \
		'BEGIN { printf "%.0f", 100 * t / k / s }')
	R[$s.usq.$r]=$(awk -v t=$((c1 - c0)) -v k="$tck" -v n="${R[$s.done.$r]}" \
		'BEGIN { if (n > 0) printf "%.2f", 1e6 * t / k / n; else print "-" }')
	R[$s.nvcsw.$r]=$((n1 - n0))

	# Latency at a fixed offered rate, from dnsperf's per-query report.
	R[$s.p50.$r]=- R[$s.p99.$r]=- R[$s.p999.$r]=- R[$s.llost.$r]=-
	if [ "$lat_seconds" -gt 0 ]; then
		f=$d/latency.$r.txt
		cli_run timeout $((lat_seconds + 30)) dnsperf "${dnsperf_args[@]}" \
			-p "$port" -Q "$lat_qps" -l "$lat_seconds" -v >"$f" 2>&1 ||
			die "dnsperf (latency) failed against $s: $(tail -n5 "$f")"
		awk '/^> / { print $NF * 1000 }' "$f" | sort -g >"$d/lat.sorted"
		read -r "R[$s.p50.$r]" "R[$s.p99.$r]" "R[$s.p999.$r]" < <(awk '
			{ v[NR] = $1 }
			function q(p,  i) { i = int(NR * p); if (i < 1) i = 1;
				return v[i] }
			END { if (NR) printf "%.3f %.3f %.3f\n", q(.5), q(.99), q(.999);
				else print "- - -" }' "$d/lat.sorted")
		R[$s.llost.$r]=$(perf_val "$f" "Queries lost:" | awk '{ print $1 }')
		kill -0 "$spid" 2>/dev/null ||
			die "$s died under load: $(tail -n5 "$d/server.log")"
	fi

	R[$s.rss.$r]=$(proc_kb "$spid" VmRSS)
	R[$s.hwm.$r]=$(proc_kb "$spid" VmHWM)
	stop_pid "$spid"
	pids=${pids/ $spid/}
	echo "bench: round $r, $s: ${R[$s.qps.$r]} q/s, ${R[$s.lost.$r]} lost," \
		"${R[$s.cpu.$r]}% CPU, RSS ${R[$s.rss.$r]} kB"
}

# Instructions the server executes in user space per query, counted by
# callgrind: a run with N queries minus a run that only starts and stops.
# Deterministic, so it holds on a noisy machine where timings do not.
insns() { # server
	local s=$1 d=$work/$1 port n passes ir=() done=0 f lines
	port=$(port_of "$s")
	lines=$(grep -c . "$queries")
	passes=$(((cg_queries + lines - 1) / lines))
	for n in 0 "$passes"; do
		rm -f "$d"/cg.out.*
		port_busy "$port" && die "port $port on 127.0.0.1 is already in use"
		start_server "$s" "$d" valgrind --tool=callgrind \
			--callgrind-out-file="$d/cg.out.%p"
		if ! wait_ready "$spid" "$port" 120; then
			cat "$d/server.log" >&2
			die "$s under valgrind did not answer within 120 s"
		fi
		if [ "$n" -gt 0 ]; then
			f=$d/callgrind-dnsperf.txt
			cli_run timeout $((n * lines / 1000 + 120)) dnsperf \
				"${dnsperf_args[@]}" -p "$port" -n "$n" -Q 2000 >"$f" 2>&1 ||
				die "dnsperf (callgrind) failed against $s"
			done=$(perf_val "$f" "Queries completed:" | awk '{ print $1 }')
			R[$s.cglost]=$(perf_val "$f" "Queries lost:" | awk '{ print $1 }')
		fi
		stop_pid "$spid" 60
		pids=${pids/ $spid/}
		ir+=("$(cat "$d"/cg.out.* 2>/dev/null |
			awk -F': ' '$1 == "summary" { n += $2 } END { print n + 0 }')")
	done
	R[$s.ipq]=$(awk -v a="${ir[0]}" -v b="${ir[1]}" -v n="$done" \
		'BEGIN { if (n > 0 && a > 0) printf "%.0f", (b - a) / n; else print "-" }')
	R[$s.start]=$(awk -v a="${ir[0]}" 'BEGIN { printf "%.1f", a / 1e6 }')
	R[$s.cgn]=$done
	echo "bench: callgrind, $s: ${R[$s.ipq]} instructions/query"
}

median() { # values...: the median of the numeric ones, or "-"
	printf '%s\n' "$@" | awk '/^[0-9.]+$/ { print }' | sort -g | awk '
		{ v[NR] = $1 }
		END { if (!NR) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print m }'
}

for s in $servers; do
	write_config "$s" "$work/$s" "$(port_of "$s")"
	R[$s.version]=$(version_of "$s")
	echo "bench: $s (${R[$s.version]}) on 127.0.0.1:$(port_of "$s"), $(threads_of "$s")"
done
for ((r = 1; r <= rounds; r++)); do
	for s in $servers; do measure "$s" "$r"; done
done
if [ "$cg_queries" -gt 0 ]; then
	for s in $servers; do insns "$s"; done
fi

keys="qps lost avg sd max cpu usq nvcsw p50 p99 p999 llost rss0 rss hwm"
for s in $servers; do
	for k in $keys; do
		vals=()
		for ((r = 1; r <= rounds; r++)); do vals+=("${R[$s.$k.$r]}"); done
		R[$s.$k]=$(median "${vals[@]}")
	done
	# Lost queries are summed, not a median: one loss is worth seeing.
	for k in lost llost; do
		R[$s.$k]=$(for ((r = 1; r <= rounds; r++)); do
			echo "${R[$s.$k.$r]}"; done |
			awk '/^[0-9]+$/ { n += $1; ok = 1 } END { print ok ? n : "-" }')
	done
	R[$s.qpsall]=$(for ((r = 1; r <= rounds; r++)); do
		printf '%s ' "${R[$s.qps.$r]}"; done)
	R[$s.hwm]=$(for ((r = 1; r <= rounds; r++)); do echo "${R[$s.hwm.$r]}"; done |
		sort -g | tail -n1)
done

# ---- report ----------------------------------------------------------------

ratio() { # a b [digits]
	awk -v a="$1" -v b="$2" -v n="${3:-2}" 'BEGIN {
		if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0)
			printf "%.*f", n, a / b; else printf "-" }'
}

report() {
	local s o line cpu_model place="not pinned" agg=""
	cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	[ -z "$srv_cpu" ] || place="server on CPU $srv_cpu, dnsperf on CPU $cli_cpus"
	[ "$rounds" -eq 1 ] || agg=", median of $rounds rounds"
	echo "geosteer bench, $started"
	echo "host: $ncpu CPUs ($cpu_model), $(uname -sr), load before" \
		"$load_before; $place"
	echo "dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'):" \
		"$clients clients, EDNS $([ "$edns" = 1 ] && echo on || echo off)," \
		"$(grep -c . "$queries") query lines ($(basename "$queries"))," \
		"zone $(basename "$zone")"
	for s in $servers; do
		printf '  %-9s %s; %s (%s threads in all)\n' "$s" "${R[$s.version]}" \
			"$(threads_of "$s")" "${R[$s.threads]}"
	done
	echo
	echo "throughput: $seconds s with $outstanding queries outstanding$agg"
	printf '%-9s %8s %7s %7s %7s %6s %5s %6s %7s\n' server 'q/s' 'avg ms' \
		'sd ms' 'max ms' lost CPU% 'us/q' preempt
	for s in $servers; do
		printf '%-9s %8s %7s %7s %7s %6s %5s %6s %7s\n' "$s" "${R[$s.qps]}" \
			"${R[$s.avg]}" "${R[$s.sd]}" "${R[$s.max]}" "${R[$s.lost]}" \
			"${R[$s.cpu]}" "${R[$s.usq]}" "${R[$s.nvcsw]}"
	done
	if [ "$rounds" -gt 1 ]; then
		for s in $servers; do
			printf '  %-9s q/s by round: %s\n' "$s" "${R[$s.qpsall]}"
		done
	fi
	echo
	if [ "$lat_seconds" -gt 0 ]; then
		echo "latency: $lat_seconds s at $lat_qps q/s$agg; memory after both runs"
	else
		echo "memory after the run$agg"
	fi
	printf '%-9s %7s %7s %7s %6s %9s %9s %9s\n' server 'p50 ms' 'p99 ms' \
		'p999 ms' lost 'RSS0 kB' 'RSS kB' 'HWM kB'
	for s in $servers; do
		printf '%-9s %7s %7s %7s %6s %9s %9s %9s\n' "$s" "${R[$s.p50]}" \
			"${R[$s.p99]}" "${R[$s.p999]}" "${R[$s.llost]}" "${R[$s.rss0]}" \
			"${R[$s.rss]}" "${R[$s.hwm]}"
	done
	if [ "$cg_queries" -gt 0 ]; then
		echo
		echo "callgrind: user-space instructions, 2000 q/s under valgrind"
		printf '%-9s %8s %8s %6s %12s\n' server queries 'insn/q' lost \
			'startup Minsn'
		for s in $servers; do
			printf '%-9s %8s %8s %6s %12s\n' "$s" "${R[$s.cgn]}" \
				"${R[$s.ipq]}" "${R[$s.cglost]}" "${R[$s.start]}"
		done
	fi
	echo
	echo "response codes (last throughput run)"
	for s in $servers; do printf '  %-9s %s\n' "$s" "${R[$s.rcodes]}"; done
	if [[ " $servers " == *" geosteerd "* ]]; then
		for o in gdnsd knot; do
			[[ " $servers " == *" $o "* ]] || continue
			echo
			line="geosteerd/$o: q/s $(ratio "${R[geosteerd.qps]}" "${R[$o.qps]}")"
			line+=", avg latency $(ratio "${R[geosteerd.avg]}" "${R[$o.avg]}")"
			line+=", p99 $(ratio "${R[geosteerd.p99]}" "${R[$o.p99]}")"
			line+=", CPU/query $(ratio "${R[geosteerd.usq]}" "${R[$o.usq]}")"
			[ "$cg_queries" -eq 0 ] ||
				line+=", insn/query $(ratio "${R[geosteerd.ipq]}" "${R[$o.ipq]}")"
			line+=", RSS $(ratio "${R[geosteerd.rss]}" "${R[$o.rss]}")"
			echo "$line"
			paste -d'|' "$work/geosteerd/probe.txt" "$work/$o/probe.txt" |
				awk -F'|' -v o="$o" '$1 != $2 {
					split($2, b, " "); if (!n++) print "  answers that differ:"
					printf "    %s; %s: %s %s %s %s\n", $1, o, b[3], b[4], b[5], b[6] }'
		done
	fi
	local note=""
	for s in $servers; do
		[ "${R[$s.cpu]%.*}" -ge 90 ] || note="$note $s"
	done
	if [ -n "$note" ]; then
		echo
		echo "note: below 90% server CPU for:$note; dnsperf, not the server," \
			"was the limit there, so q/s is a floor and us/q compares better"
	fi
	return 0
}

out=$work/report.txt
report | tee "$out"

if [ "${BENCH_SAVE:-0}" = 1 ]; then
	mkdir -p "$here/results"
	base=$here/results/$(date -u +%Y-%m-%d)
	dest=$base.txt
	i=2
	while [ -e "$dest" ] && [ "$i" -lt 100 ]; do
		dest=$base-$i.txt
		i=$((i + 1))
	done
	[ -e "$dest" ] && die "too many results for today in $here/results"
	cp "$out" "$dest"
	echo "bench: saved $dest"
fi
