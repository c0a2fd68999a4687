#!/usr/bin/env bash
# One peer under the harness's 50 % quota (cgroup v1, 10 ms period) on core 0, upstream and load
# (wrk 64 connections, or h2load 8x8 with PROTO=h2) on core 1, 8 s after a 2 s warm-up: requests
# served, CPU a request (the cgroup's processes, user+system), and perf-counted system calls a
# request. Run it for nginx and the gateway alternately: the requests of a pair compare like the
# harness's req/s.
#   [PROTO=h2] quota-pairs.sh nginx | /path/to/meshgate-gateway
set -u
bin=$1
cg=/sys/fs/cgroup/cpu/mq-$$
mkdir "$cg" && echo 10000 > "$cg/cpu.cfs_period_us" && echo 5000 > "$cg/cpu.cfs_quota_us" || exit 1
run=$(mktemp -d)
GOMAXPROCS=1 taskset -c 1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
if [ "$bin" = nginx ]; then
  sed -e "s#@RUN@#$run#g; s#@UPSTREAM@#127.0.0.1:18080#g; s#@HOST@#127.0.0.1#g; s#@PORT@#18090#g; s#@H2PORT@#18091#g" /work/shared/bench/configs/nginx.conf.tmpl > $run/nginx.conf
  setsid bash -c "echo \$\$ > $cg/cgroup.procs; exec taskset -c 0 nginx -p $run -c $run/nginx.conf -g 'daemon off;'" >/dev/null 2>&1 &
  port=18090; [ "${PROTO:-h1}" = h2 ] && port=18091
else
  setsid bash -c "echo \$\$ > $cg/cgroup.procs; exec taskset -c 0 env MESHGATE=$bin PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run bash /work/main/bench/gateway-peer.sh" >/dev/null 2>&1 &
  port=18090
fi
gw=$!
for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:$port/color/ && break; sleep 0.1; done
load() {
  if [ "${PROTO:-h1}" = h2 ]; then taskset -c 1 h2load -t1 -c8 -m8 -D "$1" http://127.0.0.1:$port/color/
  else taskset -c 1 wrk -t1 -c64 -d"$1"s --latency http://127.0.0.1:$port/color/; fi
}
load 2 >/dev/null 2>&1
read -r t0 < <(cat "$cg/cpuacct.usage" 2>/dev/null || echo 0)
ticks() { cat $cg/cgroup.procs | while read p; do awk '{print $14+$15}' /proc/$p/stat 2>/dev/null; done | awk '{s+=$1} END {print s}'; }
k0=$(ticks)
pids=$(cat $cg/cgroup.procs | paste -sd,)
perf stat -e raw_syscalls:sys_enter,context-switches,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_futex,syscalls:sys_enter_nanosleep -p $pids -o $run/perf.txt -- sleep 7 >/dev/null 2>&1 &
pp=$!
load 8 > "$run/wrk.txt" 2>&1
wait $pp
k1=$(ticks)
n=$(awk '/requests in/ {print $1} /^requests:/ {print $8}' "$run/wrk.txt")
hz=$(getconf CLK_TCK)
awk -v n="$n" -v k=$((k1 - k0)) -v hz="$hz" -v b="$(basename $bin)" -v p="${PROTO:-h1}" 'BEGIN { printf "%s %s requests=%d cpu_us_per_request=%.1f\n", b, p, n, k/hz*1e6/n }'
awk -v n="$n" '/raw_syscalls|context-switches|sys_enter_/ {gsub(",","",$1); printf "  %s %.2f/req\n", $2, $1/(n*7/8)}' $run/perf.txt
kill -TERM -- -$gw 2>/dev/null; kill $up 2>/dev/null; wait 2>/dev/null
sleep 0.5; rmdir "$cg" 2>/dev/null; rm -rf "$run"
