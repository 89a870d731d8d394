#!/usr/bin/env bash
# The storefront while management work runs: p50/p90/p99 of a fixed-rate storefront mix through the
# edge, in idle windows and in busy windows (a backup with its verification restore, plus a burst of
# log analytics against the control API), alternating in one run. Goal: p99 busy <= 1.1 x p99 idle.
#   bench/decoupling.sh [RATE req/s, default 50] [SECONDS per window, default 20] [ROUNDS, default 2]
# Starts the whole platform with the demo store in its own data directory (the README's ports:
# API 127.0.0.1:7070, edge :8080/:8443/:8081, all on loopback), seeds a ballast table and media files
# so a backup takes a while, runs bench/decoupling.ts, then destroys the store and stops the platform
# (also on failure). Ballast size: TRIPLANE_BENCH_BALLAST_ROWS (default 150000) rows of ~200 bytes,
# TRIPLANE_BENCH_MEDIA_MB (default 40) files of 1 MiB of random bytes. TRIPLANE_BENCH_ANALYTICS_LOOPS
# (default 4) log-analytics loops in a busy window; 0 leaves the backup alone, to tell the two apart;
# TRIPLANE_BENCH_BACKUP=off leaves the analytics alone. The busy windows are also split by what the
# backup was doing (taking the snapshot, verifying it). TRIPLANE_MANAGEMENT_CPUS (a CPU list) reaches
# the platform it starts, and keeps management work to those CPUs (docs/backups.md).
# TRIPLANE_BENCH_SAMPLES (a file) receives every reported request, one JSON line each, to analyse again.
# bench/decoupling-rounds.ts judges one or several such files again, each run and all rounds together.
# The generator runs at nice -10: it stands for shoppers on other machines, so its own scheduling
# should not count as the storefront's latency (its remaining lateness is reported as "lag p99"). The
# operator client (it asks for the backups and runs the analytics through the API, as `triplane backup
# create --wait` and a dashboard would) stands for an operator's tools and runs at nice 19 and the
# idle scheduling policy.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-50}
secs=${2:-20}
rounds=${3:-2}
rows=${TRIPLANE_BENCH_BALLAST_ROWS:-150000}
media_mb=${TRIPLANE_BENCH_MEDIA_MB:-40}
analytics=${TRIPLANE_BENCH_ANALYTICS_LOOPS:-4}
backup=${TRIPLANE_BENCH_BACKUP:-on}
store=demo
user=tp-$store

# Another platform or demo store on this machine would answer in our place, or be destroyed by our
# cleanup: refuse before anything is started.
for port in 7070 8080 8081 8443; do
  if [ -n "$(ss -Hltn "sport = :$port")" ]; then
    echo "decoupling: port $port is taken (another platform or test is running); stop it or run later" >&2
    exit 1
  fi
done
# podman as the store's user, as test/podman.ts podmanAs does.
podman_store() {
  local uid
  uid=$(id -u "$user")
  (cd "/home/$user" && env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="/home/$user" XDG_RUNTIME_DIR="/run/user/$uid" runuser -u "$user" -- podman "$@")
}
if id -u "$user" >/dev/null 2>&1 && [ -n "$(podman_store ps -aq 2>/dev/null)" ]; then
  echo "decoupling: $user already has containers (another $store store); destroy it or run later" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/tp-bench-decoupling.XXXX)
gen_pid=
ok=0
cleanup() {
  if [ -n "$gen_pid" ]; then kill "$gen_pid" 2>/dev/null || true; wait "$gen_pid" 2>/dev/null || true; fi
  local destroyed=1
  ./triplane destroy "$store" --yes --data-dir "$dir" >"$dir/destroy.log" 2>&1 || destroyed=0
  ./triplane down --data-dir "$dir" >"$dir/down.log" 2>&1 || {
    echo "decoupling: down failed:" >&2
    cat "$dir/down.log" >&2
  }
  # The agent may still be touching the store while destroy removes its user (a podman command
  # restarts the user's pause process and userdel refuses); with the platform stopped, once more.
  if [ "$destroyed" = 0 ]; then
    echo "decoupling: destroy $store failed while the platform ran; again after down:" >&2
    sed 's/^/  /' "$dir/destroy.log" >&2
    ./triplane destroy "$store" --yes --data-dir "$dir" >&2 || { ok=0; destroyed=failed; }
  fi
  if [ "$ok" = 1 ]; then
    rm -rf "$dir"
  else
    rm -rf "$dir/backups"
    echo "decoupling: logs kept in $dir/logs" >&2
  fi
  if [ "$destroyed" = failed ]; then exit 1; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "starting the platform with the $store store in $dir"
./triplane up --data-dir "$dir" >"$dir/up.log" 2>&1 || { cat "$dir/up.log" >&2; exit 1; }

echo "seeding: $rows ballast rows, $media_mb MiB of media"
# As the container's root over the socket, like the backup's own dump; the Sequence engine makes the rows.
podman_store exec "$store-database" mariadb store -e "
  CREATE TABLE IF NOT EXISTS bench_ballast (
    id INT UNSIGNED PRIMARY KEY, sku VARCHAR(32) NOT NULL, payload VARCHAR(255) NOT NULL
  ) ENGINE=InnoDB;
  INSERT IGNORE INTO bench_ballast
    SELECT seq, CONCAT('BALLAST-', seq), CONCAT(SHA2(seq, 256), SHA2(seq + 1, 256), SHA2(seq + 2, 256))
    FROM seq_1_to_$rows;"
podman_store exec "$store-app-1-php" sh -c "
  mkdir -p /var/www/media/bench-ballast &&
  for i in \$(seq 1 $media_mb); do head -c 1048576 /dev/urandom >/var/www/media/bench-ballast/blob-\$i.bin; done"

nice -n -10 node --import tsx bench/decoupling.ts --data-dir "$dir" --store "$store" \
  --rate "$rate" --seconds "$secs" --rounds "$rounds" --analytics "$analytics" --backup "$backup" \
  ${TRIPLANE_BENCH_SAMPLES:+--samples "$TRIPLANE_BENCH_SAMPLES"} &
gen_pid=$!
wait "$gen_pid"
gen_pid=
ok=1
