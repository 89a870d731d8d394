#!/usr/bin/env bash
# The whole test suite (README contract): lint, types, unit tests, then process and system tests
# on real rootless Podman. Installs what it needs first, so it works on a fresh Debian 12 machine.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi

# Test-only tools from Debian's packages (the platform's own needs are installed by `host prepare`).
missing=()
command -v slowhttptest >/dev/null || missing+=(slowhttptest)
command -v ss >/dev/null || missing+=(iproute2)
command -v openssl >/dev/null || missing+=(openssl)
[[ -x /usr/lib/postgresql/15/bin/initdb ]] || missing+=(postgresql) # throwaway clusters for src/control/state tests
# The WAF's rule set; `host prepare` installs it too, but the edge tests run before the store tests.
[[ -d /usr/share/modsecurity-crs/rules ]] || missing+=(modsecurity-crs)
# Backup repositories for the backup engine's tests (`host prepare` installs it too).
command -v restic >/dev/null || missing+=(restic)
if (( ${#missing[@]} > 0 )); then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "== lint and types"
npx biome check src test bench scripts
npx tsc --noEmit

if (( $# > 0 )); then
  echo "== tests: $*"
  exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@"
fi

# Unit tests share nothing but the CPU, and many wait on a throwaway PostgreSQL cluster or a
# child process, so several files run at once; TRIPLANE_UNIT_CONCURRENCY overrides the count.
echo "== unit tests"
node --import tsx --test --test-concurrency="${TRIPLANE_UNIT_CONCURRENCY:-4}" --test-reporter=spec \
  src/**/*.test.ts bench/**/*.test.ts

echo "== process and system tests"
# One file at a time: these share Podman, images, store users and the CPU their timings need.
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec test/**/*.test.ts
