#!/usr/bin/env bash
# Measures fob on this machine and writes BENCHMARKS.md (see bench/main.go).
# `make bench` runs it after building bin/fob. Flags for the bench go in
# BENCH_ARGS or after the script's name, e.g. a quick run:
#   make bench BENCH_ARGS='-duration 2s -cold 10 -functions 1000 -agents 50'
set -euo pipefail
cd "$(dirname "$0")/.."

# wrk is the load generator; Debian packages it.
if ! command -v wrk >/dev/null 2>&1; then
	echo "bench: installing wrk from Debian's packages" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi

GO="${GO:-go}"
[ -x bin/fob ] || "$GO" build -o bin/fob ./cmd/fob
"$GO" build -o bin/fob-bench ./bench
# BENCH_ARGS is split into words on purpose: it holds several flags.
# shellcheck disable=SC2086
exec ./bin/fob-bench ${BENCH_ARGS:-} "$@"
