#!/usr/bin/env bash
# CPU per request of a meshgate binary under the harness's 50 % quota
# (cgroup v1 cpu controller, 10 ms period), user and system apart, with a
# perf profile of the same 8 s: the gateway (bench/gateway-peer.sh) on
# core 0 in the cgroup, upstream and wrk (64 connections; h2load 8×8 with
# PROTO=h2) on core 1.
#   [PROTO=h2] bench/results/gateway-h1server/quota-cpu.sh /path/to/meshgate OUTDIR
set -u
bin=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/../.." && pwd)
harness=${BENCH_HARNESS:-$bench/../../shared/bench}
mkdir -p "$out" /tmp/bench-bin
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream) || exit 1
cg=/sys/fs/cgroup/cpu/meshgate-quota-$$
mkdir "$cg" && echo 10000 > "$cg/cpu.cfs_period_us" && echo 5000 > "$cg/cpu.cfs_quota_us" || exit 1
run=$(mktemp -d)
GOMAXPROCS=1 taskset -c 1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
setsid bash -c "echo \$\$ > $cg/cgroup.procs; exec taskset -c 0 env MESHGATE=$bin PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run bash $bench/gateway-peer.sh" >/dev/null 2>&1 &
gw=$!
for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:18090/color/ && break; sleep 0.1; done
load() { # seconds
  if [ "${PROTO:-h1}" = h2 ]; then taskset -c 1 h2load -t1 -c8 -m8 -D "$1" http://127.0.0.1:18090/color/
  else taskset -c 1 wrk -t1 -c64 -d"$1"s --latency http://127.0.0.1:18090/color/; fi
}
load 2 >/dev/null 2>&1
pid=$(pgrep -f "meshgate.* gateway --resource" | head -1)
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$pid/stat)
perf record -F 1999 -g -p "$pid" -o "$out/perf.data" -- sleep 8 >/dev/null 2>&1 &
pp=$!
load 8 > "$out/wrk.txt" 2>&1
wait $pp
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$pid/stat)
n=$(awk '/requests in/ {print $1} /^requests:/ {print $8}' "$out/wrk.txt")
hz=$(getconf CLK_TCK)
awk -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN { printf "requests=%d user_us_per_request=%.1f system_us_per_request=%.1f\n", n, u/hz*1e6/n, s/hz*1e6/n }'
grep -E "Requests/sec|^finished" "$out/wrk.txt"
grep VmHWM /proc/$pid/status
grep -E "nr_periods|nr_throttled" "$cg/cpu.stat"
kill -TERM -- -$gw 2>/dev/null; kill $up 2>/dev/null; wait 2>/dev/null
sleep 0.5; rmdir "$cg" 2>/dev/null; rm -rf "$run"
