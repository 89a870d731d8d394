# Sourced by the WAF benchmarks: waits for a server started in the background to print its
# `ready URL` line.
#   ready_url LOG PID   prints the URL; returns 1 (after printing the log to stderr) when PID exits
#                       or two minutes pass first.
ready_url() {
  local url
  for _ in $(seq 1 600); do
    url=$(awk '/^ready / {print $2}' "$1")
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.2
  done
  cat "$1" >&2
  return 1
}
