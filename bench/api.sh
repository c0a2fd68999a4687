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
  # One "operation clients ops/s ns/op" line per run, then the median per
  # (operation, clients) with sort (portable awk has no asort).
  awk '/^BenchmarkAPI\// { split($1, p, "/"); split(p[3], c, "="); sub(/-[0-9]+$/, "", c[2]);
                            print p[2], c[2], $5, $3 }' "$raw" > "$raw.rows"
  for key in $(awk '{print $1 "/" $2}' "$raw.rows" | sort -u); do
    op=${key%/*}; clients=${key#*/}
    ops=$(awk -v o="$op" -v c="$clients" '$1==o && $2==c {print $3}' "$raw.rows" | sort -n)
    ns=$(awk -v o="$op" -v c="$clients" '$1==o && $2==c {print $4}' "$raw.rows" | sort -n)
    n=$(echo "$ops" | wc -l); mid=$(( (n + 1) / 2 ))
    med_ops=$(echo "$ops" | sed -n "${mid}p"); med_ns=$(echo "$ns" | sed -n "${mid}p")
    # Latency one client sees: ns/op is per operation over all clients.
    lat=$(awk -v ns="$med_ns" -v c="$clients" 'BEGIN { printf "%.0f", ns * c / 1000 }')
    printf "| %s | %s | %.0f | %s |\n" "$op" "$clients" "$med_ops" "$lat"
  done
} > bench/results-api.md
rm -f "$raw" "$raw.rows"
cat bench/results-api.md
