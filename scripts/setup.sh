#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine with Node 20+ for development and CI: the pinned pnpm, the locked
# dependencies, and a first build. Idempotent; needs root (or sudo) only for apt: Debian's chromium (browser
# tests, SwiftShader) and libvulkan1 (the Vulkan loader of the webgpu tests in Node).
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

# Debian packages the tests need: chromium (the browser tests of backend-wasm and backend-webgpu, driven by
# playwright-core, which downloads nothing, and its SwiftShader Vulkan driver) and libvulkan1, the system
# Vulkan loader through which Dawn (npm `webgpu`) reaches SwiftShader and lavapipe in Node. Chromium carries
# a private copy of the loader, so installing it does not bring libvulkan1.
apt_packages=()
if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then apt_packages+=(chromium); fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then apt_packages+=(libvulkan1); fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_packages[@]}"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_packages[@]}"
  else
    echo "setup: ${apt_packages[*]} missing and this user cannot install them (the browser and webgpu tests will fail); run: apt-get install ${apt_packages[*]}" >&2
    exit 1
  fi
fi

# Mesa's lavapipe 25 (bookworm-backports), extracted without installing into ~/.cache/dcnv2/lavapipe: the
# CPU Vulkan driver with shader-f16 on which the webgpu float16 tests run (SwiftShader has no float16).
bash scripts/fetch-lavapipe.sh

# onnxruntime-node's install script downloads binaries from the internet; its bundled CPU build suffices.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
