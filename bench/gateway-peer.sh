#!/usr/bin/env bash
# Runs the gateway (meshgate-gateway, or MESHGATE=/path/to/meshgate for
# `meshgate gateway`: both take `gateway` first) as a peer of ../shared/bench/run.sh: the harness's
# job (GET /color/ -> upstream "/", Host: color.local) as a virtual gateway
# with one http2 listener (HTTP/1.1 and h2c prior knowledge on one port), a
# gateway route on prefix /color/ to virtual service color.local, whose
# provider is a node on the harness's upstream (HTTP/1.1).
#
# The configuration is what the API would produce for these resources; it is
# given through the gateway's --config-cache (the last-good configuration
# it serves while no control plane answers), so the benchmark measures the
# data plane alone. Environment from the harness: PORT, UPSTREAM, RUN.
# ROUTES=N (default 1) puts N gateway routes on the virtual host: N-1 others
# (prefixes /r00001/ ...) ahead of /color/, so the route the job uses is the
# last one in priority order (issue 5's "realistic route table").
set -euo pipefail
: "${PORT:?}" "${UPSTREAM:?}" "${RUN:?}"
MESHGATE=${MESHGATE:-/tmp/bench-bin/meshgate-gateway}
ROUTES=${ROUTES:-1}
up_host=${UPSTREAM%:*}
up_port=${UPSTREAM##*:}
others=""
for ((i = 1; i < ROUTES; i++)); do
  printf -v name 'r%05d' "$i"
  others+="{\"name\":\"$name\",\"match\":{\"prefix\":\"/$name/\"},\"action\":{\"service\":\"color.local\",\"port\":$up_port,\"hostRewrite\":\"color.local\",\"prefixRewrite\":\"/\"}},"
done
cat > "$RUN/gateway-config.json" <<JSON
{"version":"bench","config":{"mesh":"bench","name":"gw","uid":"bench",
 "listeners":[{"port":$PORT,"protocol":"http2","virtualHosts":[{"name":"ingress_${PORT}_*","domains":["*"],
   "routes":[$others{"name":"color","match":{"prefix":"/color/"},
              "action":{"service":"color.local","port":$up_port,"hostRewrite":"color.local","prefixRewrite":"/"}}]}]}],
 "services":[{"name":"color.local","port":$up_port,"provider":"virtualNode/color","protocol":"http",
   "routes":[{"name":"","match":{},"targets":[{"cluster":"cds_egress_bench_color_http_$up_port","weight":1}],
              "retry":{"maxRetries":2,"httpEvents":["stream-error"],"tcpEvents":["connection-error"],"statusCodes":[503]},
              "timeout":"15s","idleTimeout":"5m0s"}]}],
 "clusters":[{"name":"cds_egress_bench_color_http_$up_port","node":"color","port":$up_port,"protocol":"http",
   "discovery":{"hostname":"$up_host","port":$up_port}}]}}
JSON
exec "$MESHGATE" gateway --resource mesh/bench/virtualGateway/gw --xds 127.0.0.1:1 \
  --config-cache "$RUN/gateway-config.json" --admin-listen "" --listen-host 127.0.0.1 \
  --drain-time 0s --log-level error
