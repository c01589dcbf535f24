#!/usr/bin/env bash
# `bash scripts/demo.sh`: the demo on a fresh machine (Node and Go, nothing else; root not
# needed). Installs what is missing, into this checkout only, then runs scripts/demo.mjs:
# - the npm packages (`npm ci`), which bring Node 24, the Node the action runs on;
# - a registry without the referrers API: Debian's docker-registry when it is on PATH, else
#   distribution v3 built from the Go module proxy into .cache/bin;
# - the bundle dist/index.js (committed; built only when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/node ]; then
  echo "== npm ci (npm packages, and Node 24 with them)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! command -v docker-registry >/dev/null && [ ! -x .cache/bin/registry ]; then
  command -v go >/dev/null || {
    echo "Needs a registry: install Debian's docker-registry, or Go to build distribution v3" >&2
    exit 1
  }
  echo "== go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2 (into .cache/bin)"
  GOBIN="$PWD/.cache/bin" go install github.com/distribution/distribution/v3/cmd/registry@v3.1.2
fi

if [ ! -f dist/index.js ]; then
  echo "== npm run build"
  npm run build --silent
fi

exec node_modules/.bin/node scripts/demo.mjs
