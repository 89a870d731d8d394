#!/usr/bin/env bash
# Start-up of a CLI command that talks to the control plane (`triplane stacks --help`: parse,
# print, exit) against the same start that also loads the planes' process code, which the CLI
# loaded for every command before it loaded each plane only where its command runs. Runs
# alternate, so machine noise falls on both alike; the ratio is the figure to compare.
# Usage: bash bench/cli-startup.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
eager=$(mktemp --suffix=.mjs)
trap 'rm -f "$eager"' EXIT
cat >"$eager" <<EOF
for (const m of ['src/agent/daemon.ts', 'src/agent/remote/agent.ts', 'src/control/process.ts',
  'src/control/jobs/index.ts', 'src/control/reads/index.ts', 'src/edge/process.ts',
  'src/cloud/aws/synth.ts', 'src/cloud/aws/toolkit.ts'])
  await import('$PWD/' + m);
process.argv.splice(2, process.argv.length, 'stacks', '--help');
await import('$PWD/src/cli/main.ts');
EOF
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(((e - s) / 1000000)); }
lazy=() eagerly=()
for _ in $(seq "$runs"); do
  lazy+=("$(ms ./triplane stacks --help)")
  eagerly+=("$(ms node --import ./node_modules/tsx/dist/loader.mjs "$eager")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
l=$(median "${lazy[@]}")
e=$(median "${eagerly[@]}")
echo "runs: $runs"
echo "stacks --help, planes loaded by their commands: median ${l} ms (${lazy[*]})"
echo "stacks --help, every plane loaded first:        median ${e} ms (${eagerly[*]})"
awk -v l="$l" -v e="$e" 'BEGIN { printf "ratio eager/lazy: %.2f\n", e / l }'
