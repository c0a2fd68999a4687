#!/usr/bin/env bash
# Propagation: with N gateway routes present on one gateway, the time from
# the API's 200 on a new gateway route to `meshgate gateway` serving it
# (real server and gateway processes on 127.0.0.1, 20 samples per N).
# Usage: bench/propagation.sh [N ...]   (default: 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
for n in "${@:-1000 10000}"; do
  for m in $n; do
    MESHGATE_BENCH_PROPAGATION=$m go test ./test/e2e -run TestPropagationBench -count=1 -v -timeout 20m \
      | grep -E 'RESULT|created'
  done
done
