#!/usr/bin/env bash
# The garbage collector's work during load: GODEBUG=gctrace=1 of the gateway
# (gateway-peer.sh, ROUTES gateway routes) under wrk -t1 -c64 for 5 s, no
# quota, the gateway on core 0 and wrk and the upstream on core 1. Writes the
# collections' trace lines to OUT and prints their number and the mark CPU a
# collection (assist + background + idle workers, from the "ms cpu" field).
#   bench/gctrace.sh ROUTES /path/to/meshgate-gateway OUT
set -u
[ $# -eq 3 ] || { sed -n 2,7p "$0" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
routes=$1 bin=$2 out=$3
for port in 18080 18090; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then echo "port $port is in use" >&2; exit 1; fi
done
(cd "${BENCH_HARNESS:-$here/../../shared/bench}" && go build -o /tmp/bench-bin/upstream ./upstream) || exit 1
run=$(mktemp -d)
setsid taskset -c 1 env GOMAXPROCS=1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
setsid taskset -c 0 env GODEBUG=gctrace=1 "ROUTES=$routes" "MESHGATE=$bin" PORT=18090 UPSTREAM=127.0.0.1:18080 "RUN=$run" \
  bash "$here/gateway-peer.sh" >/dev/null 2>"$run/gc.log" &
peer=$!
trap 'kill -TERM -- -$peer -$up 2>/dev/null; wait $peer $up 2>/dev/null; rm -rf "$run"' EXIT
for _ in $(seq 150); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:18090/color/" && break; sleep 0.1; done
sleep 1
n0=$(wc -l <"$run/gc.log")
taskset -c 1 wrk -t1 -c64 -d5s http://127.0.0.1:18090/color/ | grep -E "Requests/sec"
tail -n +$((n0 + 1)) "$run/gc.log" | grep '^gc ' >"$out"
awk '{ if (match($0, /ms clock, [0-9.]+\+[0-9.]+\/[0-9.]+\/[0-9.]+\+/)) { s = substr($0, RSTART + 10, RLENGTH - 10); split(s, a, /[+\/]/); m += a[2] + a[3] + a[4]; n++ } }
  END { printf "collections %d, mark CPU a collection %.2f ms\n", n, n ? m / n : 0 }' "$out"
