#!/usr/bin/env bash
# The edge with its WAF (CRS, paranoia 1, 2 workers) at a git revision against the working tree, side
# by side: the two alternate, round after round, on the same wrk mixes (benign and attack, generated
# from the working tree), so the machine's drift hits both alike. Prints req/s and p99 per run and
# the working tree's ratio to the revision per mix.
#   bench/waf-edge-ab.sh REV [seconds per run, default 8] [rounds, default 2] [connections, default 32]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/ready.sh
rev=${1:?usage: bench/waf-edge-ab.sh REV [seconds] [rounds] [connections]}
secs=${2:-8}
rounds=${3:-2}
conns=${4:-32}
git rev-parse --verify --quiet "$rev^{commit}" >/dev/null || { echo "REV: not a commit: $rev" >&2; exit 2; }
command -v wrk >/dev/null || {
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk
}
work=$(mktemp -d /tmp/tp-bench-ab.XXXX)
old="$work/tree"
edge_pid=
cleanup() {
  if [ -n "$edge_pid" ]; then kill "$edge_pid" 2>/dev/null || true; wait "$edge_pid" 2>/dev/null || true; fi
  git worktree remove --force "$old" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --quiet --detach "$old" "$rev"
ln -s "$PWD/node_modules" "$old/node_modules"
for mix in benign attack; do
  node --import tsx test/waf-differential/wrk-mix.ts --mix "$mix" --host shop.localhost >"$work/$mix.lua"
done

run() { # label tree
  (cd "$2" && exec node --import tsx test/waf-differential/serve-edge.ts --paranoia 1 --workers 2) >"$work/edge.log" 2>&1 &
  edge_pid=$!
  local url
  url=$(ready_url "$work/edge.log" "$edge_pid") || { echo "the edge of $1 did not start (log above)" >&2; exit 1; }
  for mix in benign attack; do
    wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/$mix.lua" "$url" >"$work/wrk.txt"
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
    echo "$1 $mix $rps $p99"
    echo "$1 $mix $rps" >>"$work/rates"
  done
  kill "$edge_pid"
  wait "$edge_pid" 2>/dev/null || true
  edge_pid=
}

echo "$(git rev-parse --short "$rev") (rev) against the working tree, ${secs}s per run, $rounds round(s), $conns connections"
echo "side mix req/s p99"
for _ in $(seq 1 "$rounds"); do
  run rev "$old"
  run tree "$PWD"
done
for mix in benign attack; do
  awk -v m="$mix" '$2 == m && $1 == "rev" {r += $3; nr++} $2 == m && $1 == "tree" {t += $3; nt++}
    END {printf "working tree / rev, %s: %.2f (mean req/s %.0f against %.0f)\n", m, (t / nt) / (r / nr), t / nt, r / nr}' "$work/rates"
done
