#!/usr/bin/env bash
# Wall time of `triplane cloud synth` for the demo store (the whole CLI: start, validation, CDK
# synthesis, asset staging), run N times; the assembly goes to a scratch directory each time.
# Usage: bash bench/cloud-synth.sh [runs] [environment]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
env=${2:-production}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for i in $(seq "$runs"); do
  start=$(date +%s%N)
  ./triplane cloud synth -f examples/demo-store/triplane.yaml --env "$env" --out "$out/run$i" >/dev/null 2>&1
  end=$(date +%s%N)
  awk -v i="$i" -v ns="$((end - start))" 'BEGIN { printf "run %d: %.1f s\n", i, ns / 1e9 }'
done
