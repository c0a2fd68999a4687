#!/usr/bin/env bash
# GODEBUG=gctrace=1 of the gateway during a 5 s wrk load (no quota), as in README.md.
# Usage: bash gctrace.sh ROUTES /path/to/meshgate-gateway   (writes gctrace-ROUTES-routes.txt)
set -u
here=$(cd "$(dirname "$0")" && pwd)
run=$(mktemp -d)
setsid taskset -c 1 env GOMAXPROCS=1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 & up=$!
setsid taskset -c 0 env GODEBUG=gctrace=1 ROUTES=$1 MESHGATE=$2 PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run bash "$here/../../gateway-peer.sh" >/dev/null 2>$run/gc.log & peer=$!
for _ in $(seq 150); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:18090/color/" && break; sleep 0.1; done
sleep 1
n0=$(wc -l < $run/gc.log)
taskset -c 1 wrk -t1 -c64 -d5s http://127.0.0.1:18090/color/ | grep -E "Requests/sec"
tail -n +$((n0+1)) $run/gc.log > $here/gctrace-$1-routes.txt
echo "cycles: $(grep -c '^gc ' $here/gctrace-$1-routes.txt)"; tail -2 $here/gctrace-$1-routes.txt
kill -TERM -- -$peer -$up 2>/dev/null; sleep 0.3; rm -rf $run
