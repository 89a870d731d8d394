#!/usr/bin/env bash
# The same small static response through (a) nginx, (b) the Triplane edge from its cache, (c) nginx as
# a reverse proxy, (d) the Triplane edge as a proxy — side by side in one run, with wrk on loopback.
#   bench/edge-vs-nginx.sh [seconds per run, default 10] [connections, default 64]
# Both servers get 2 worker processes. Ratios are what to compare: these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-64}
command -v wrk >/dev/null && command -v nginx >/dev/null || {
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk nginx-light
}
work=$(mktemp -d /tmp/tp-bench-edge.XXXX)
chmod 755 "$work" # nginx's workers run as nobody and must read the file
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null; kill "$edge_pid" "$base_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/www/static"
head -c 512 /dev/urandom | base64 > "$work/www/static/app.css"

cat > "$work/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000;
  upstream origin { server 127.0.0.1:19001; keepalive 64; }
  server {   # (a) static, also the origin of the proxies
    listen 127.0.0.1:19001;
    root $work/www;
    location /static/ { add_header Cache-Control "public, max-age=3600"; }
    location = /health { return 200 "ok"; }
  }
  server {   # (c) nginx as a reverse proxy
    listen 127.0.0.1:19002;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
NGINX
nginx -c "$work/nginx.conf"

cat > "$work/snapshot.json" <<JSON
{"version":1,
 "routes":[{"id":"bench","store":"bench","hosts":["bench.localhost"],"pool":"origin"},
           {"id":"proxy","store":"proxy","hosts":["proxy.localhost"],"pool":"origin"}],
 "pools":[{"id":"origin","members":[{"host":"127.0.0.1","port":19001}],"healthCheck":{"path":"/health"}}],
 "policies":[{"store":"bench","cache":{"pathPrefixes":["/static/"]},"overload":{"maxConcurrent":4096}},
             {"store":"proxy","cache":{"enabled":false},"overload":{"maxConcurrent":4096}}]}
JSON
./triplane edge --snapshot "$work/snapshot.json" --data-dir "$work/edge" --http 127.0.0.1:19003 --https off \
  --metrics 127.0.0.1:19004 --workers 2 --access-log "$work/access.ndjson" >"$work/edge.log" 2>&1 &
edge_pid=$!
node bench/node-baseline.mjs 19005 19006 19001 2 "$work/www/static/app.css" >"$work/baseline.log" 2>&1 &
base_pid=$!
ready=
for _ in $(seq 1 150); do curl -sf http://127.0.0.1:19004/readyz >/dev/null && { ready=1; break; }; sleep 0.2; done
[ -n "$ready" ] || { echo "the edge did not become ready:" >&2; cat "$work/edge.log" >&2; exit 1; }

run() { # name url host
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H "Host: $3" "$2" > "$work/$1.txt"
  local rps p99
  # A run that got errors measures the error path, not the case: refuse it.
  if grep -qE 'Non-2xx|Socket errors' "$work/$1.txt"; then
    echo "$1: the server answered errors, the run is void:" >&2; cat "$work/$1.txt" >&2; exit 1
  fi
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/$1.txt")
  echo "$1 $rps $p99"
}
# Store `bench` caches /static/ at the edge (b); store `proxy` has its edge cache off (d).
a=$(run a_nginx_static http://127.0.0.1:19001/static/app.css bench.localhost)
b=$(run b_edge_cache http://127.0.0.1:19003/static/app.css bench.localhost)
c=$(run c_nginx_proxy http://127.0.0.1:19002/static/app.css bench.localhost)
d=$(run d_edge_proxy http://127.0.0.1:19003/static/app.css proxy.localhost)
# Reference: plain Node.js (HTTP server + undici, nothing else), to separate Node's cost from the edge's.
e=$(run e_node_static http://127.0.0.1:19005/static/app.css bench.localhost)
f=$(run f_node_proxy http://127.0.0.1:19006/static/app.css bench.localhost)
echo "case req/s p99"
printf '%s\n' "$a" "$b" "$c" "$d" "$e" "$f"
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v e="$e" -v f="$f" 'BEGIN {
  split(a, A, " "); split(b, B, " "); split(c, C, " "); split(d, D, " "); split(e, E, " "); split(f, F, " ");
  printf "ratio (b)/(a) = %.2f   ratio (d)/(c) = %.2f\n", B[2] / A[2], D[2] / C[2];
  printf "plain Node: (e)/(a) = %.2f   (f)/(c) = %.2f\n", E[2] / A[2], F[2] / C[2] }'
