#!/usr/bin/env bash
# Profiles `meshgate gateway` on the harness's job with perf (user and
# kernel time, call graphs): the harness's upstream on the load core, the
# gateway (bench/gateway-peer.sh's configuration) pinned to the proxy core,
# wrk (h1) or h2load (h2c) on the load core, as ../shared/bench/run.sh
# does. No CPU quota: the profile's shares are what matters here.
# Writes OUTDIR/perf.data, OUTDIR/report.txt (flat, by symbol) and
# OUTDIR/load.txt (the load generator's output).
#   apt-get install -y linux-perf wrk nghttp2-client   (perf, wrk, h2load)
# Usage: bench/profile-gateway.sh [h1|h2] [seconds] [outdir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
proto=${1:-h1}
secs=${2:-10}
out=${3:-/tmp/gateway-profile-$proto}
harness=${BENCH_HARNESS:-$root/../shared/bench}
mkdir -p "$out" /tmp/bench-bin
[ -n "${MESHGATE_NO_BUILD:-}" ] || (cd "$root" && go build -tags grpcnotrace -o /tmp/bench-bin/meshgate-gateway ./cmd/meshgate-gateway)
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream)
run=$(mktemp -d /tmp/gateway-profile.XXXXXX)
up_pid="" gw_pid=""
cleanup() {
  for p in $gw_pid $up_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$run"
}
trap cleanup EXIT
GOMAXPROCS=1 taskset -c 1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >"$run/upstream.log" 2>&1 &
up_pid=$!
PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run taskset -c 0 bash "$here/gateway-peer.sh" >"$run/gw.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18090/color/ 2>/dev/null)" = 200 ] && break
  sleep 0.1
done
url=http://127.0.0.1:18090/color/
load() {
  if [ "$proto" = h1 ]; then taskset -c 1 wrk -t1 -c64 -d"${1}s" --latency "$url"
  else taskset -c 1 h2load -t1 -c8 -m8 -D "$1" "$url"; fi
}
load 2 >/dev/null 2>&1
perf record -F 1999 -g -p "$gw_pid" -o "$out/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
perf_pid=$!
load "$secs" >"$out/load.txt" 2>&1
wait "$perf_pid" || true
perf report -i "$out/perf.data" --no-children --sort symbol --percent-limit 0.7 --stdio 2>/dev/null \
  | grep -v '^$' | grep -v '^#' | grep '%' | head -60 >"$out/report.txt"
perf report -i "$out/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' | head -10 >>"$out/report.txt"
grep -E 'Requests/sec|finished in' "$out/load.txt" || true
cat "$out/report.txt"
