#!/usr/bin/env bash
# System calls and context switches per request of a meshgate binary on the
# harness's job over HTTP/1.1 (bench/gateway-peer.sh's configuration, wrk with
# 64 connections, no quota): perf stat tracepoints on the gateway process.
#   bench/results/gateway-h1client/syscount.sh /path/to/meshgate [secs]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/../.." && pwd)
harness=${BENCH_HARNESS:-$bench/../../shared/bench}
bin=$1; secs=${2:-5}
mkdir -p /tmp/bench-bin
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream) || exit 1
run=$(mktemp -d /tmp/syscount.XXXXXX)
GOMAXPROCS=1 taskset -c 1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
MESHGATE=$bin PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run taskset -c 0 bash "$bench/gateway-peer.sh" >/dev/null 2>&1 &
gw=$!
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18090/color/)" = 200 ] && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c64 -d2s http://127.0.0.1:18090/color/ >/dev/null 2>&1
perf stat -e syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_recvfrom,syscalls:sys_enter_futex,syscalls:sys_enter_nanosleep,context-switches -p $gw -o $run/stat.txt -- sleep $secs &
ps=$!
n=$(taskset -c 1 wrk -t1 -c64 -d${secs}s http://127.0.0.1:18090/color/ 2>&1 | awk '/requests in/ {print $1}')
wait $ps
kill $gw $up; wait $gw $up 2>/dev/null
echo "requests=$n"
awk -v n=$n '/syscalls:|context-switches/ {gsub(",","",$1); printf "%-40s %12s  %.2f per request\n", $2, $1, $1/n}' $run/stat.txt
rm -rf $run
