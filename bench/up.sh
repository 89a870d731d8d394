#!/usr/bin/env bash
# Cold image build time and warm `up` time of the demo store, side by side in one run.
#   bench/up.sh [--skip-cold]
# Cold: every image rebuilt from Debian packages (`images build --force`, build cache dropped).
# Warm: images cached, store down (volumes kept), then `up` until the store answers; and `up`
# again while it is up (the no-op path).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${TRIPLANE_BENCH_DATA_DIR:-/tmp/triplane-bench}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

./triplane host prepare >/dev/null 2>&1

if [[ ${1:-} != --skip-cold ]]; then
  podman builder prune --all --force >/dev/null 2>&1 || true
  t0=$(now)
  ./triplane images build --force 2>&1 | sed 's/^/  /'
  t1=$(now)
  echo "cold image build (all images): $(secs "$t0" "$t1") s"
fi

./triplane up --data-dir "$data" --skip-host >/dev/null 2>&1
./triplane down --data-dir "$data" >/dev/null 2>&1
for i in 1 2 3; do
  t0=$(now)
  ./triplane up --data-dir "$data" --skip-host >/dev/null 2>&1
  t1=$(now)
  ./triplane up --data-dir "$data" --skip-host >/dev/null 2>&1
  t2=$(now)
  echo "run $i: warm up (from down): $(secs "$t0" "$t1") s; up again (no change): $(secs "$t1" "$t2") s"
  ./triplane down --data-dir "$data" >/dev/null 2>&1
done
