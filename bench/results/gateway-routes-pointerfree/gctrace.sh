# bash gctrace.sh ROUTES BINARY NAME: GODEBUG=gctrace=1 of the gateway (bench/gateway-peer.sh, ROUTES routes) under wrk -c64 for 5 s, no quota;
# writes gctrace-NAME.txt and prints the collections and the mark CPU a collection (assist+background+idle).
run=$(mktemp -d)
if curl -s -o /dev/null --max-time 1 http://127.0.0.1:18090/ || curl -s -o /dev/null --max-time 1 http://127.0.0.1:18080/; then echo "ports busy" >&2; exit 1; fi
setsid taskset -c 1 env GOMAXPROCS=1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 & up=$!
setsid taskset -c 0 env GODEBUG=gctrace=1 ROUTES=$1 MESHGATE=$2 PORT=18090 UPSTREAM=127.0.0.1:18080 RUN=$run bash "${BENCH_DIR:-/work/main/bench}/gateway-peer.sh" >/dev/null 2>$run/gc.log & peer=$!
for _ in $(seq 150); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:18090/color/" && break; sleep 0.1; done
sleep 1
n0=$(wc -l < $run/gc.log)
taskset -c 1 wrk -t1 -c64 -d5s http://127.0.0.1:18090/color/ | grep -E "Requests/sec"
tail -n +$((n0+1)) $run/gc.log > gctrace-$3.txt
kill -TERM -- -$peer -$up 2>/dev/null; wait $peer $up 2>/dev/null; rm -rf $run
python3 - gctrace-$3.txt <<'PY'
import re,sys
tot=[];live=[]
for l in open(sys.argv[1]):
    m=re.search(r'ms clock, [\d.]+\+([\d.]+)/([\d.]+)/([\d.]+)\+',l)
    if m: tot.append(sum(float(x) for x in m.groups()))
    m=re.search(r'->(\d+) MB,',l)
    if m: live.append(int(m.group(1)))
print(sys.argv[1], "cycles", len(tot), "mark cpu ms/cycle", round(sum(tot)/len(tot),3) if tot else 0, "live MB", live[-1] if live else '-')
PY
