#!/usr/bin/env bash
# API throughput on the embedded SQLite store: describes and creates per
# second over HTTP on 127.0.0.1 with 1 and 16 concurrent clients.
# Usage: bench/api.sh [count] [benchtime]   (defaults: 5 runs of 2s each)
# Writes bench/results-api.md with the median of the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
benchtime=${2:-2s}
raw=$(mktemp)
go test ./internal/api -run '^$' -bench BenchmarkAPI -benchtime "$benchtime" -count "$count" | tee "$raw"
{
  echo "# API throughput (embedded SQLite)"
  echo
  echo "Recorded $(date -u +%Y-%m-%d) by \`bench/api.sh $count $benchtime\`: median of $count runs."
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- $(go version)"
  echo "- SQLite (modernc.org/sqlite), WAL, synchronous=FULL: every acknowledged create is on disk."
  echo "- client: Go net/http with keep-alive on loopback; the server and the client share the machine's cores."
  echo
  echo "| benchmark | clients | median ops/s | median latency per op (µs, as seen by one client) |"
  echo "|---|---|---|---|"
  awk '/^BenchmarkAPI\// {
      split($1, p, "/"); op=p[2]; split(p[3], c, "="); sub(/-[0-9]+$/, "", c[2]);
      key=op" | "c[2]; n[key]++; ops[key, n[key]]=$5; ns[key, n[key]]=$3 }
    END {
      for (k in n) {
        m=n[k]; for (i=1;i<=m;i++) { a[i]=ops[k,i]+0; b[i]=ns[k,i]+0 }
        asort(a); asort(b); mid=int((m+1)/2)
        lat=b[mid]/1000; split(k, kk, " \\| "); clients=kk[2]+0
        if (clients > 1) lat=lat*clients
        printf "| %s | %.0f | %.0f |\n", k, a[mid], lat
      }
    }' "$raw" | sort
} > bench/results-api.md
rm -f "$raw"
cat bench/results-api.md
