#!/usr/bin/env bash
# WAF throughput on the differential corpus: the reference (nginx + libmodsecurity3 + Debian's CRS
# 3.3.4) and the Triplane edge with its WAF, each on a benign mix and an attack mix,
# with wrk on loopback. Prints req/s and p99 per side and mix, then the same edge with its WAF off
# (the ceiling any WAF speed-up is bounded by) and the ratios.
#   bench/waf-vs-modsecurity.sh [seconds per run, default 10] [connections, default 32] [paranoia, default 1]
#                               [WAF threads per edge worker, default 1]
# Both sides get 2 worker processes and answer "ok" from behind the WAF. The attack mix is mostly
# 403s and the benign mix has the reference's false positives: non-2xx answers are counted, not voided.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib/ready.sh
secs=${1:-10}
conns=${2:-32}
paranoia=${3:-1}
waf_threads=${4:-1}
host=shop.localhost
command -v wrk >/dev/null || {
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk
}
work=$(mktemp -d /tmp/tp-bench-waf.XXXX)
ref_pid=

# ─── Triplane edge side ─────────────────────────────────────────────────────────────────────────
# `./triplane edge` with its WAF on (Debian's CRS, paranoia "$paranoia", 2 workers) in front of an
# upstream that answers "ok", routing Host "$host" to it (test/waf-differential/serve-edge.ts).
triplane_pid=
triplane_url=
start_triplane() { # [mode: block (default) or off]
  node --import tsx test/waf-differential/serve-edge.ts --paranoia "$paranoia" --workers 2 --waf-threads "$waf_threads" --mode "${1:-block}" >"$work/edge.log" 2>&1 &
  triplane_pid=$!
  triplane_url=$(ready_url "$work/edge.log" "$triplane_pid") || { echo "the edge did not start (log above)" >&2; return 1; }
}
stop_triplane() {
  if [ -n "$triplane_pid" ]; then kill "$triplane_pid" 2>/dev/null || true; wait "$triplane_pid" 2>/dev/null || true; fi
  triplane_pid=
}
# ────────────────────────────────────────────────────────────────────────────────────────────────

cleanup() {
  if [ -n "$ref_pid" ]; then kill "$ref_pid" 2>/dev/null || true; wait "$ref_pid" 2>/dev/null || true; fi
  stop_triplane
  rm -rf "$work"
}
trap cleanup EXIT

for mix in benign attack; do
  node --import tsx test/waf-differential/wrk-mix.ts --mix "$mix" --host "$host" >"$work/$mix.lua"
done

# The reference stops nginx itself on SIGTERM; it is one node process, so its pid is the one to signal.
node --import tsx test/waf-differential/serve-reference.ts --paranoia "$paranoia" --workers 2 >"$work/ref.log" 2>&1 &
ref_pid=$!
ref_url=$(ready_url "$work/ref.log" "$ref_pid") || { echo "the reference did not start (log above)" >&2; exit 1; }

run() { # name url mix
  wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/$3.lua" "$2" >"$work/$1.txt"
  local rps p99 non2xx errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$1.txt")
  errors=$(awk -F'Socket errors: ' '/Socket errors/ {print $2}' "$work/$1.txt")
  echo "$1 $rps $p99 ${non2xx:-0} ${errors:+errors($errors)}"
  echo "$1 $rps" >>"$work/rates"
}
rate() { awk -v k="$1" '$1 == k {print $2}' "$work/rates"; }
ratio() { awk -v a="$(rate "$1")" -v b="$(rate "$2")" 'BEGIN {printf "%.2f", a / b}'; }

echo "paranoia $paranoia, ${secs}s per run, $conns connections, $waf_threads WAF thread(s) per edge worker"
echo "case req/s p99 non-2xx"
run "modsecurity_benign" "$ref_url" benign
run "modsecurity_attack" "$ref_url" attack
start_triplane block || exit 1
run "triplane_benign" "$triplane_url" benign
run "triplane_attack" "$triplane_url" attack
stop_triplane
# The same edge with its WAF off: the most any WAF speed-up could reach on this machine and mix.
start_triplane off || exit 1
run "triplane_nowaf_benign" "$triplane_url" benign
run "triplane_nowaf_attack" "$triplane_url" attack
echo "Triplane / ModSecurity req/s: benign $(ratio triplane_benign modsecurity_benign), attack $(ratio triplane_attack modsecurity_attack)"
echo "Triplane without its WAF / ModSecurity: benign $(ratio triplane_nowaf_benign modsecurity_benign), attack $(ratio triplane_nowaf_attack modsecurity_attack)"
