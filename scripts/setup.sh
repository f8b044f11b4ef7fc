#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine with Node 20+ for development and CI: the pinned pnpm, the locked
# dependencies, and a first build. Idempotent; needs root (or sudo) only for apt: Debian's chromium (browser
# tests, SwiftShader), libvulkan1 (the Vulkan loader of the webgpu tests in Node) and the few tools below.
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

# Debian packages that a test, build or tool needs, each installed when what it provides is missing:
#   chromium        the browser tests (backend-wasm, backend-webgpu, the bundler smoke test), driven by
#                   playwright-core, which downloads no browser; also SwiftShader, its Vulkan driver
#   libvulkan1      the system Vulkan loader through which Dawn (npm `webgpu`) reaches SwiftShader and lavapipe
#                   in Node; chromium carries a private copy of the loader, so installing it does not bring this
#   curl, ca-certificates   scripts/fetch-lavapipe.sh (Mesa's lavapipe 25 from Debian's archive)
#   git, tar        the release rehearsal and the packing tests (pnpm pack, a copy of the tracked tree)
#   dataset-fashion-mnist   Fashion-MNIST's gzip-compressed IDX files in /usr/share/datasets/fashion-mnist, the
#                   data of @dcnv2/models (training, its tests, the shipped weights' accuracy check); nothing
#                   is downloaded at run time
apt_packages=()
if ! command -v chromium >/dev/null 2>&1 || [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then apt_packages+=(chromium); fi
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then apt_packages+=(libvulkan1); fi
if ! command -v curl >/dev/null 2>&1; then apt_packages+=(curl); fi
if [ ! -f /etc/ssl/certs/ca-certificates.crt ]; then apt_packages+=(ca-certificates); fi
if ! command -v git >/dev/null 2>&1; then apt_packages+=(git); fi
if ! command -v tar >/dev/null 2>&1; then apt_packages+=(tar); fi
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then apt_packages+=(dataset-fashion-mnist); fi
if [ "${#apt_packages[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${apt_packages[*]}" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_packages[@]}"
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_packages[@]}"
  else
    echo "setup: ${apt_packages[*]} missing and this user cannot install them (no root, no sudo): the browser, webgpu, packing and @dcnv2/models tests would fail. As root run: apt-get install ${apt_packages[*]}" >&2
    exit 1
  fi
fi
# What the set-up cannot install itself is checked, with what to do about it.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  echo "setup: libvulkan.so.1 is still not found by ldconfig after installing libvulkan1; the webgpu tests in Node need it" >&2
  exit 1
fi
if [ ! -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
  echo "setup: /usr/lib/chromium/vk_swiftshader_icd.json is missing (Debian's chromium package ships it); the webgpu tests use it as their Vulkan driver" >&2
  exit 1
fi

# Mesa's lavapipe 25 (bookworm-backports), extracted without installing into ~/.cache/dcnv2/lavapipe: the
# CPU Vulkan driver with shader-f16 on which the webgpu float16 tests run (SwiftShader has no float16).
bash scripts/fetch-lavapipe.sh

# onnxruntime-node's install script downloads binaries from the internet; its bundled CPU build suffices.
export ONNXRUNTIME_NODE_INSTALL=skip
pnpm install --frozen-lockfile
pnpm build
