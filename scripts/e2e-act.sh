#!/usr/bin/env bash
# Runs the end-to-end workflow (.github/workflows/e2e.yml) here, under nektos/act in host mode:
# the steps run on this machine, no Docker engine needed. act has no service containers in
# host mode, so this script starts the registry itself (Debian's docker-registry, distribution
# 2.8, as registry:2 on GitHub) on a free loopback port and gives its address to the workflow
# as the `registry` input of a workflow_dispatch event.
#
# Needs: act (GOBIN=.cache/bin go install github.com/nektos/act@v0.2.89, which .ci/run does),
# docker-registry, and `npm ci` (Node 24 from the `node` devDependency: act runs the action,
# `runs.using: node24`, with whatever `node` is first on PATH). Reaches no network: the
# workflow's only remote action, actions/checkout, is replaced by act with a copy of the
# working tree (files .gitignore leaves out are not copied; dist/ is).
# Exits non-zero when the workflow fails, or after E2E_ACT_TIMEOUT seconds (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
act=${ACT:-$root/.cache/bin/act}
timeout_s=${E2E_ACT_TIMEOUT:-300}

if [ ! -x "$act" ]; then
  echo "act is not installed at $act: GOBIN=$root/.cache/bin go install github.com/nektos/act@v0.2.89" >&2
  exit 1
fi
command -v docker-registry >/dev/null || {
  echo "docker-registry is not installed: apt-get install docker-registry" >&2
  exit 1
}
# Node 24 first on PATH, for act's `node` and for the workflow's `run: node …` steps.
export PATH="$root/node_modules/.bin:$PATH"
node -e 'if (+process.versions.node.split(".")[0] < 24) { console.error(`node ${process.version} on PATH: run npm ci first (Node 24 is a devDependency)`); process.exit(1) }'

work=$(mktemp -d "${TMPDIR:-/tmp}/oci-promote-e2e-act.XXXXXX")
registry_pid=''
cleanup() {
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
registry="127.0.0.1:$port"
cat >"$work/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry-data
  delete:
    enabled: true
http:
  addr: $registry
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
if ! node -e '
  const deadline = Date.now() + 15000;
  const poll = () => fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () =>
    Date.now() > deadline ? process.exit(1) : setTimeout(poll, 100));
  poll();' "http://$registry/v2/"; then
  echo "docker-registry did not answer on $registry:" >&2
  cat "$work/registry.log" >&2
  exit 1
fi
echo "Registry: docker-registry (distribution 2.8) on $registry"

# act's own state stays in $work: no ~/.actrc, no action cache, no version check.
mkdir -p "$work/home"
set +e
HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache" \
  ACT_DISABLE_VERSION_CHECK=1 \
  timeout --kill-after=10 "$timeout_s" "$act" workflow_dispatch \
  -W .github/workflows/e2e.yml \
  -P ubuntu-latest=-self-hosted \
  --input "registry=$registry" \
  --action-cache-path "$work/act-cache" \
  --cache-server-path "$work/act-cache-server" \
  --no-cache-server \
  --env-file /dev/null --secret-file /dev/null --var-file /dev/null --input-file /dev/null \
  --actor e2e "$@"
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "act did not finish within $timeout_s s" >&2
elif [ "$status" -ne 0 ]; then
  echo "The end-to-end workflow failed under act (exit $status)" >&2
else
  echo "The end-to-end workflow passed under act"
fi
exit "$status"
