#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine with Node 20+ for development and CI: the pinned pnpm, the locked
# dependencies, and a first build. Idempotent; needs root only for apt (not used yet by this project).
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node >= 20 is required, found $(node --version)" >&2
  exit 1
fi

# pnpm, at the version pinned in package.json's packageManager field.
want_pnpm=$(node -p 'require("./package.json").packageManager.split("@")[1]')
if [ "$(pnpm --version 2>/dev/null || true)" != "$want_pnpm" ]; then
  npm install -g "pnpm@$want_pnpm" --no-audit --no-fund
fi

# onnxruntime-node's install script downloads binaries from the internet; its bundled CPU build suffices.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
