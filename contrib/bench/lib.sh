# lib.sh: helpers shared by the benchmark scripts (sourced, bash).
# shellcheck shell=bash
# $BENCH_TAG prefixes their messages ("bench", "hbench").

die() {
	echo "${BENCH_TAG:-bench}: $*" >&2
	exit 1
}

is_uint() {
	case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac
}

need_pkgs() {
	local missing="" p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'ok installed' || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "${BENCH_TAG:-bench}: installing$missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends $missing >/dev/null
}

stop_pid() { # pid [seconds]: TERM, up to 10 s, then KILL; always reaps
	local pid=$1 limit=${2:-10} i
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null || true
		return 0
	}
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "${BENCH_TAG:-bench}: pid $pid ignored SIGTERM for $limit s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

port_busy() {
	ss -Hlnu "sport = :$1" 2>/dev/null | grep -q . ||
		ss -Hlnt "sport = :$1" 2>/dev/null | grep -q .
}

# Sets GEOSTEERD to an absolute path: as given, or built (optimized, no
# sanitizers) from the tree at $1 in build directory $2.
bench_geosteerd() {
	local top=$1 build=$2
	if [ -z "${GEOSTEERD:-}" ]; then
		"$top/contrib/deps.sh"
		[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi)
		mkdir -p "$build"
		echo "${BENCH_TAG:-bench}: building geosteerd in $build" \
			"(optimized, no sanitizers)"
		(
			cd "$build" || exit 1
			[ -f Makefile ] || "$top/configure" -q
			make -s -j"$(nproc)" geosteerd \
				AUTOMAKE=: ACLOCAL=: AUTOCONF=: AUTOHEADER=: \
				>/dev/null
		)
		GEOSTEERD=$build/geosteerd
	fi
	[ -x "$GEOSTEERD" ] || die "GEOSTEERD=$GEOSTEERD is not an executable"
	GEOSTEERD=$(cd "$(dirname "$GEOSTEERD")" && pwd)/$(basename "$GEOSTEERD")
}
