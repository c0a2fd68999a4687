#!/usr/bin/env bash
# CPU time per request of each proxy on the harness's job: the peer's own
# user+system time (its whole process group; also each alone) divided by the requests wrk
# (h1) or h2load (h2c) completed, peers alternating, no CPU quota (the
# peer pinned to core 0, load generator and upstream to core 1). Less
# sensitive to other load on a shared machine than req/s under a quota:
# it counts the work done per request, not how much CPU the peer got.
#   bench/cpu-per-request.sh [rounds] [PEER...]
# PEER: nginx | goproxy | floor | floor-features | NAME=/path/to/meshgate[@ROUTES] (default: nginx goproxy
# meshgate=/tmp/bench-bin/meshgate-gateway, built by bench/gateway.sh); @ROUTES puts
# that many gateway routes on it (gateway-peer.sh's ROUTES, default 1). floor is
# bench/floorproxy with its yields, HTTP/1.1 only; floor-features the same with -features. Prints one line per run and medians.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
harness=${BENCH_HARNESS:-$here/../../shared/bench}
rounds=${1:-3}
shift || true
peers=("$@")
[ ${#peers[@]} -eq 0 ] && peers=(nginx goproxy meshgate=/tmp/bench-bin/meshgate-gateway)
secs=${SECS:-5}
hz=$(getconf CLK_TCK)
run=$(mktemp -d /tmp/cpu-per-req.XXXXXX)
(cd "$harness" && go build -o /tmp/bench-bin/upstream ./upstream && go build -o /tmp/bench-bin/goproxy ./goproxy) || exit 1
(cd "$here/.." && go build -o /tmp/bench-bin/floorproxy ./bench/floorproxy) || exit 1
up="" peer=""
stop() { [ -n "$1" ] && { kill -TERM -- "-$1" 2>/dev/null; wait "$1" 2>/dev/null; }; }
trap 'stop "$peer"; stop "$up"; rm -rf "$run"' EXIT
setsid taskset -c 1 env GOMAXPROCS=1 /tmp/bench-bin/upstream -addr 127.0.0.1:18080 -size 1024 >/dev/null 2>&1 &
up=$!
ticks() { # "utime stime" of the process group $1
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v pg="$1" '{ s=$0; sub(/^.*\) /,"",s); split(s,a," "); if (a[3]==pg) { u+=a[12]; k+=a[13] } } END { print u+0, k+0 }'
}
results=$run/results
for round in $(seq "$rounds"); do
  for spec in "${peers[@]}"; do
    name=${spec%%=*}
    case "$spec" in
      nginx)
        sed -e "s#@RUN@#$run#g; s#@UPSTREAM@#127.0.0.1:18080#g; s#@HOST@#127.0.0.1#g; s#@PORT@#18081#g; s#@H2PORT@#18082#g" \
          "$harness/configs/nginx.conf.tmpl" > "$run/nginx.conf"
        cmd=(nginx -p "$run" -c "$run/nginx.conf" -g 'daemon off;'); h1=18081; h2=18082 ;;
      goproxy)
        cmd=(/tmp/bench-bin/goproxy -addr 127.0.0.1:18085 -upstream 127.0.0.1:18080); h1=18085; h2=18085 ;;
      floor)
        cmd=(/tmp/bench-bin/floorproxy -yield -listen 127.0.0.1:18086 -upstream 127.0.0.1:18080); h1=18086; h2="" ;;
      floor-features)
        cmd=(/tmp/bench-bin/floorproxy -yield -features -listen 127.0.0.1:18087 -upstream 127.0.0.1:18080); h1=18087; h2="" ;;
      *=*@*)
        bin=${spec#*=}
        cmd=(env "MESHGATE=${bin%@*}" "ROUTES=${bin##*@}" PORT=18090 UPSTREAM=127.0.0.1:18080 "RUN=$run" bash "$here/gateway-peer.sh"); h1=18090; h2=18090 ;;
      *=*)
        cmd=(env "MESHGATE=${spec#*=}" PORT=18090 UPSTREAM=127.0.0.1:18080 "RUN=$run" bash "$here/gateway-peer.sh"); h1=18090; h2=18090 ;;
    esac
    for proto in h1 h2; do
      [ $proto = h2 ] && [ -z "$h2" ] && continue
      setsid taskset -c 0 "${cmd[@]}" >"$run/peer.log" 2>&1 </dev/null &
      peer=$!
      port=$h1; [ $proto = h2 ] && port=$h2
      for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/color/" && break; sleep 0.1; done
      if [ $proto = h1 ]; then
        taskset -c 1 wrk -t1 -c64 -d2s "http://127.0.0.1:$port/color/" >/dev/null 2>&1
        t0=$(ticks "$peer")
        n=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" "http://127.0.0.1:$port/color/" 2>&1 | awk '/requests in/ {print $1}')
      else
        taskset -c 1 h2load -t1 -c8 -m8 -D 2 "http://127.0.0.1:$port/color/" >/dev/null 2>&1
        t0=$(ticks "$peer")
        n=$(taskset -c 1 h2load -t1 -c8 -m8 -D "$secs" "http://127.0.0.1:$port/color/" 2>&1 | awk '/^requests:/ {print $8}')
      fi
      t1=$(ticks "$peer")
      stop "$peer"; peer=""
      read -r u0 k0 <<<"$t0"; read -r u1 k1 <<<"$t1"
      per() { awk -v d="$1" -v hz="$hz" -v n="${n:-0}" 'BEGIN { if (n > 0) printf "%.1f", d / hz * 1e6 / n; else print "NA" }'; }
      us=$(per $((u1 + k1 - u0 - k0))) user=$(per $((u1 - u0))) sys=$(per $((k1 - k0)))
      echo "round $round $proto $name requests=$n cpu_us_per_request=$us user=$user system=$sys"
      echo "$proto $name $us" >> "$results"
      echo "$proto $name/user $user" >> "$results"
      echo "$proto $name/system $sys" >> "$results"
    done
  done
done
echo "median CPU µs per request:"
awk '{print $1, $2}' "$results" | sort -u | while read -r proto name; do
  vals=$(awk -v p="$proto" -v n="$name" '$1==p && $2==n {print $3}' "$results" | sort -n)
  echo "$proto/$name $(echo "$vals" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}') (runs: $(echo $vals))"
done
