#!/usr/bin/env bash
# CPU per request of a proxy under the harness's 50 % quota (cgroup v1 cpu
# controller, 10 ms period), user and system apart, with a perf profile of
# the same 8 s: the proxy (a meshgate binary through bench/gateway-peer.sh,
# or nginx with the harness's configuration) on core 0 in the cgroup,
# upstream and wrk (64 connections; h2load 8×8 with PROTO=h2) on core 1.
# QUOTA=-1 lifts the quota (the same job at full speed, for comparison).
#   [PROTO=h2] [QUOTA=5000|-1] bench/quota-cpu.sh /path/to/meshgate|nginx OUTDIR
set -u
[ $# -eq 2 ] || { sed -n 2,8p "$0" >&2; exit 2; }
peer=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
harness=${BENCH_HARNESS:-$here/../../shared/bench}
mkdir -p "$out" /tmp/bench-bin
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream) || exit 1
cg=/sys/fs/cgroup/cpu/meshgate-quota-$$
mkdir "$cg" && echo 10000 >"$cg/cpu.cfs_period_us" && echo "${QUOTA:-5000}" >"$cg/cpu.cfs_quota_us" || exit 1
run=$(mktemp -d)
GOMAXPROCS=1 taskset -c 1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
if [ "$peer" = nginx ]; then
  # The harness's template listens for HTTP/1.1 on PORT and h2c on H2PORT: the protocol measured gets 18090.
  h1=18090 h2=18089
  [ "${PROTO:-h1}" = h2 ] && h1=18089 h2=18090
  sed -e "s#@RUN@#$run#g; s#@UPSTREAM@#127.0.0.1:18080#g; s#@HOST@#127.0.0.1#g; s#@PORT@#$h1#g; s#@H2PORT@#$h2#g" \
    "$harness/configs/nginx.conf.tmpl" >"$run/nginx.conf"
  setsid bash -c "echo \$\$ > $cg/cgroup.procs; exec taskset -c 0 nginx -p $run -c $run/nginx.conf -g 'daemon off;'" >/dev/null 2>&1 &
else
  setsid bash -c "echo \$\$ > $cg/cgroup.procs; exec taskset -c 0 env MESHGATE=$peer PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run bash $here/gateway-peer.sh" >/dev/null 2>&1 &
fi
gw=$!
for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:18090/color/ && break; sleep 0.1; done
load() { # seconds
  if [ "${PROTO:-h1}" = h2 ]; then taskset -c 1 h2load -t1 -c8 -m8 -D "$1" http://127.0.0.1:18090/color/
  else taskset -c 1 wrk -t1 -c64 -d"$1"s --latency http://127.0.0.1:18090/color/; fi
}
load 2 >/dev/null 2>&1
pids=$(paste -sd, "$cg/cgroup.procs")
cpu() { # user and system ticks of the processes in the cgroup
  for p in ${pids//,/ }; do awk '{print $14, $15}' "/proc/$p/stat"; done | awk '{u += $1; s += $2} END {print u, s}'
}
read -r u0 s0 < <(cpu)
perf record -F 1999 -g -p "$pids" -o "$out/perf.data" -- sleep 8 >/dev/null 2>&1 &
pp=$!
load 8 >"$out/wrk.txt" 2>&1
wait $pp
read -r u1 s1 < <(cpu)
n=$(awk '/requests in/ {print $1} /^requests:/ {print $8}' "$out/wrk.txt")
hz=$(getconf CLK_TCK)
awk -v n="$n" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" 'BEGIN { printf "requests=%d user_us_per_request=%.1f system_us_per_request=%.1f\n", n, u/hz*1e6/n, s/hz*1e6/n }'
grep -E "Requests/sec|^finished" "$out/wrk.txt"
for p in ${pids//,/ }; do grep VmHWM "/proc/$p/status"; done
grep -E "nr_periods|nr_throttled" "$cg/cpu.stat"
kill -TERM -- -$gw 2>/dev/null
for p in ${pids//,/ }; do kill -TERM "$p" 2>/dev/null; done
kill $up 2>/dev/null
wait 2>/dev/null
sleep 0.5
rmdir "$cg" 2>/dev/null
rm -rf "$run"
