#!/usr/bin/env bash
# The gateway beside nginx, HAProxy and a plain Go ReverseProxy on the
# shared harness's job (../shared/bench: GET /color/ -> upstream "/" with
# Host color.local, 1 KiB bodies, 64 connections, HTTP/1.1 and h2c), each
# proxy held to the same CPU share. Writes bench/results/<name>/ (summary.md
# with ratios to nginx). Needs nginx, haproxy, wrk and h2load:
#   apt-get install -y nginx haproxy wrk nghttp2-client curl
# Usage: bench/gateway.sh [name] [extra run.sh options]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
name=${1:-gateway-vs-nginx-q50}
shift || true
harness=${BENCH_HARNESS:-$root/../shared/bench}
mkdir -p /tmp/bench-bin
# The gateway measured is meshgate-gateway, the one deployed per gateway
# (MESHGATE_NO_BUILD=1 measures the binary already at /tmp/bench-bin/meshgate-gateway).
[ -n "${MESHGATE_NO_BUILD:-}" ] || (cd "$root" && go build -tags grpcnotrace -o /tmp/bench-bin/meshgate-gateway ./cmd/meshgate-gateway)
cd "$harness"
./run.sh --proxy-quota 50 -d 5 -r 3 "$@" -o "$here/results/$name" \
  nginx haproxy goproxy "meshgate:18090:18090:bash $here/gateway-peer.sh"
cat "$here/results/$name/summary.md"
