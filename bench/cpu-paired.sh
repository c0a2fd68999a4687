#!/usr/bin/env bash
# A/B of two gateway binaries' CPU per request, measured at the same time:
# both gateways share core 0, each under its own load (wrk, or h2load for
# h2c, on core 1) against the harness's upstream, and each one's CPU time
# (its process group's user+system) is divided by the requests it served.
# Other load on a shared machine then hits A and B alike, so the ratio B/A
# of a round resolves steps of 1-2 % that sequential runs
# (cpu-per-request.sh) lose in the machine's noise. The absolute numbers
# are higher than a gateway's alone (two processes take turns on one
# core): read the ratio, over several rounds. A/A runs gave B/A of
# 0.99-1.01 a round, 1.03 once on a busy machine.
#   bench/cpu-paired.sh ROUNDS A_BINARY B_BINARY [h1|h2]
# A binary written /path@N is given N gateway routes (gateway-peer.sh's
# ROUTES, default 1): the same binary twice measures what a table costs.
# Environment: SECS (load per round, default 5), CONNS (wrk connections
# per gateway, default 32; h2load uses 4 connections x 8 streams).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
harness=${BENCH_HARNESS:-$here/../../shared/bench}
[ $# -ge 3 ] || { sed -n 2,14p "$0" >&2; exit 2; }
rounds=$1 A=$2 B=$3 proto=${4:-h1} secs=${SECS:-5} conns=${CONNS:-32}
run=$(mktemp -d /tmp/cpu-paired.XXXXXX)
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream) || exit 1
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$run"' EXIT
setsid taskset -c 1 env GOMAXPROCS=1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
pids+=($!)
mkdir "$run/a" "$run/b"
routes() { case "$1" in *@*) echo "${1##*@}" ;; *) echo 1 ;; esac; }
setsid taskset -c 0 env "MESHGATE=${A%@*}" "ROUTES=$(routes "$A")" PORT=18090 UPSTREAM=127.0.0.1:18080 "RUN=$run/a" bash "$here/gateway-peer.sh" >"$run/a/log" 2>&1 &
pa=$!
pids+=($pa)
setsid taskset -c 0 env "MESHGATE=${B%@*}" "ROUTES=$(routes "$B")" PORT=18091 UPSTREAM=127.0.0.1:18080 "RUN=$run/b" bash "$here/gateway-peer.sh" >"$run/b/log" 2>&1 &
pb=$!
pids+=($pb)
for port in 18090 18091; do
  for _ in $(seq 200); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/color/" && break; sleep 0.1; done
done
ticks() { # user+system ticks of the process group $1
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$1" '{ s=$0; sub(/^.*\) /,"",s); split(s,a," "); if (a[3]==pg) t+=a[12]+a[13] } END { print t+0 }'
}
load() { # requests served on port $1 in $2 seconds
  if [ "$proto" = h1 ]; then
    taskset -c 1 wrk -t1 -c"$conns" -d"$2s" "http://127.0.0.1:$1/color/" 2>&1 | awk '/requests in/ {print $1}'
  else
    taskset -c 1 h2load -t1 -c4 -m8 -D "$2" "http://127.0.0.1:$1/color/" 2>&1 | awk '/^requests:/ {print $8}'
  fi
}
load 18090 2 >/dev/null
load 18091 2 >/dev/null
hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
  ta=$(ticks $pa) tb=$(ticks $pb)
  load 18090 "$secs" >"$run/na" &
  lp=$!
  load 18091 "$secs" >"$run/nb"
  wait $lp
  ta2=$(ticks $pa) tb2=$(ticks $pb)
  awk -v ta=$((ta2 - ta)) -v tb=$((tb2 - tb)) -v na="$(cat "$run/na")" -v nb="$(cat "$run/nb")" -v hz="$hz" -v r="$r" -v p="$proto" 'BEGIN {
    if (na <= 0 || nb <= 0) { printf "round %d %s: no requests counted\n", r, p; exit }
    a = ta / hz * 1e6 / na; b = tb / hz * 1e6 / nb
    printf "round %d %s A %.2f us (%d requests) B %.2f us (%d requests) B/A %.3f\n", r, p, a, na, b, nb, b / a }' | tee -a "$run/rounds"
done
awk '{print $NF}' "$run/rounds" | sort -n | awk '{v[NR]=$1} END { if (NR) printf "median B/A %.3f over %d rounds (min %.3f, max %.3f)\n", v[int((NR+1)/2)], NR, v[1], v[NR] }'
