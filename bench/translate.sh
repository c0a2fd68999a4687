#!/usr/bin/env bash
# Translation cost of one gateway with 10, 100, 1,000 and 10,000 gateway
# routes: model snapshot -> IR (translate.Gateway) -> Envoy resources
# (envoy.Translate, validation included), time and memory per translation.
# Usage: bench/translate.sh [count] [benchtime]   (defaults: 5 runs of 1s each)
# Writes bench/results-translate.md with the median of the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
benchtime=${2:-1s}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
cmd="go test ./internal/translate/envoy -run '^\$' -bench BenchmarkTranslate -benchmem -benchtime $benchtime -count $count"
eval "$cmd" | tee "$raw"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# Gateway translation: model -> IR -> Envoy xDS"
  echo
  echo "Recorded $(date -u +%Y-%m-%d) by \`bench/translate.sh $count $benchtime\`: median of $count runs."
  echo
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "- $(go version)"
  echo "- load average (1, 5, 15 min) before: $load_before, after: $load_after. On a shared machine"
  echo "  (load above the core count) times vary by up to 2x between runs; allocations do not."
  echo "- command: \`$cmd\`"
  echo "- gateway: one http listener; n gateway routes over min(max(n/10,1),100) virtual services, each a router"
  echo "  with 3 routes (header match, 50/50 split, catch-all) over 2 health-checked nodes; 1 route in 5 matches"
  echo "  a header, 1 in 7 a hostname (20 hostnames). Built in memory (internal/translate/envoy/bench_test.go)."
  echo "- stage=ir: translate.Gateway; stage=envoy: envoy.Translate incl. ValidateAll of every resource;"
  echo "  stage=both: a configuration change end to end. xds-bytes: size of the listeners, routes and clusters as sent."
  echo
  echo "| stage | gateway routes | ms/op | MB/op | allocs/op | xds-bytes |"
  echo "|---|---:|---:|---:|---:|---:|"
  awk '/^BenchmarkTranslate\// {
      split($1, p, "/"); split(p[2], s, "="); split(p[3], r, "="); sub(/-[0-9]+$/, "", r[2])
      key=s[2]" "r[2]; n[key]++
      for (i=2; i<=NF; i++) {
        if ($i=="ns/op") ns[key, n[key]]=$(i-1)
        if ($i=="B/op") by[key, n[key]]=$(i-1)
        if ($i=="allocs/op") al[key, n[key]]=$(i-1)
        if ($i=="xds-bytes") xb[key]=$(i-1)
      }
    }
    # median without gawk asort (mawk is the default awk here)
    function med(arr, k, m,   i, j, t, a) {
      for (i=1;i<=m;i++) a[i]=arr[k,i]+0
      for (i=2;i<=m;i++) { t=a[i]; for (j=i-1; j>=1 && a[j]>t; j--) a[j+1]=a[j]; a[j+1]=t }
      return a[int((m+1)/2)]
    }
    END {
      for (k in n) {
        m=n[k]; split(k, kk, " ")
        order = (kk[1]=="ir" ? 1 : kk[1]=="envoy" ? 2 : 3)
        printf "%d %09d| %s | %d | %.3f | %.2f | %d | %s |\n", order, kk[2], kk[1], kk[2], med(ns,k,m)/1e6, med(by,k,m)/1e6, med(al,k,m), (k in xb ? xb[k] : "")
      }
    }' "$raw" | sort | sed 's/^[0-9]* [0-9]*//'
} > bench/results-translate.md
cat bench/results-translate.md
