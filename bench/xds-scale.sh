#!/usr/bin/env bash
# Control plane at scale (issue 5, target 4): one `meshgate server` (SQLite,
# loopback ports picked by the kernel), 1,000 ADS clients of bench/xdsload
# (goroutines, one gRPC connection each; 20 virtual gateways × 50 clients,
# half Envoy-like, half meshgate-gateway-like), 1,000 gateway routes (50 per
# gateway). Measures (a) gateway-route update → every client of that
# gateway has it, (b) a change every gateway depends on → all 1,000 have it,
# (c) unrelated changes → pushes (must be 0), (d) server RSS and goroutines.
# Results: bench/results-xds-scale.md.
#
# Usage:
#   bench/xds-scale.sh               REPEATS (3) measurement runs, each on a fresh server, then medians
#   SOAK=30m bench/xds-scale.sh      one run followed by a bounded soak of that length (Ns, Nm or Nh)
# Environment:
#   REPEATS        measurement runs (default 3)
#   SOAK           soak length; unset: no soak
#   OUT            where raw output goes (default bench/results/xds-scale)
#   MESHGATE       a prebuilt meshgate binary to measure (default: built from this tree)
#   XDSLOAD_FLAGS  extra flags for the tool (go run ./bench/xdsload -h)
#   COMMIT         recorded as the commit measured (default: git rev-parse HEAD)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench/results/xds-scale}
repeats=${REPEATS:-3}
mkdir -p "$out"
tmp=$(mktemp -d /tmp/xds-scale.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${MESHGATE:-}" ]; then
  go build -tags grpcnotrace -o "$tmp/meshgate" ./cmd/meshgate
  MESHGATE=$tmp/meshgate
fi
go build -o "$tmp/xdsload" ./bench/xdsload

stamp=$(date -u +%Y%m%dT%H%M%SZ)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "kernel: $(uname -r)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(grep MemTotal /proc/meminfo | awk '{printf "%.1f GiB", $2/1048576}')"
  echo "go: $(go version)"
  echo "commit: ${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "flags: ${XDSLOAD_FLAGS:-}"
} > "$out/$stamp-machine.txt"
cat "$out/$stamp-machine.txt"

# seconds SOAK → a bound for timeout(1): the soak, plus set-up, the
# measurements and the checks after it.
secs() {
  case "$1" in
    *h) echo $(( ${1%h} * 3600 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}

if [ -n "${SOAK:-}" ]; then
  name="$stamp-soak-$SOAK"
  set +e
  # shellcheck disable=SC2086
  timeout --kill-after=30s $(( $(secs "$SOAK") + 900 )) \
    "$tmp/xdsload" -meshgate "$MESHGATE" -soak "$SOAK" -json "$out/$name.json" -server-log "$out/$name-server.log" \
    ${XDSLOAD_FLAGS:-} | tee "$out/$name.txt"
  status=${PIPESTATUS[0]}
  set -e
  gzip -f "$out/$name-server.log"
  exit "$status"
fi

jsons=()
for i in $(seq 1 "$repeats"); do
  name="$stamp-run$i"
  # shellcheck disable=SC2086
  timeout --kill-after=30s 1200 \
    "$tmp/xdsload" -meshgate "$MESHGATE" -seed "$i" -json "$out/$name.json" -server-log "$out/$name-server.log" \
    ${XDSLOAD_FLAGS:-} > "$out/$name.txt" || echo "run $i failed (see $out/$name.txt)"
  gzip -f "$out/$name-server.log"
  grep -E '^[0-9]{2}:[0-9]{2}:[0-9.]+ ' "$out/$name.txt" || true
  jsons+=("$out/$name.json")
done
"$tmp/xdsload" -summarize "${jsons[@]}" | tee "$out/$stamp-summary.md"
