#!/usr/bin/env bash
# Fetches Mesa's lavapipe 25 (a CPU Vulkan driver) from Debian bookworm-backports and extracts it, WITHOUT
# installing anything, into a cache directory, for the float16 tests of @dcnv2/backend-webgpu: Chromium's
# SwiftShader (the default driver of the webgpu tests) has no shaderFloat16, so Dawn offers no `shader-f16`
# on it, while lavapipe 25 does. Bookworm's own lavapipe (Mesa 22) is too old for Dawn.
#
# Result: $DEST/lvp_icd.json, a Vulkan ICD manifest whose library_path is the absolute path of
# $DEST/libvulkan_lvp.so, so VK_ICD_FILENAMES=$DEST/lvp_icd.json selects it; no LD_LIBRARY_PATH is needed:
# every library the driver links against is a bookworm library that Debian's chromium already pulls in
# (libLLVM-15 among them; the package's libdrm >= 2.4.121 dependency comes from the hardware drivers
# beside lavapipe in the same package: lavapipe's libdrm symbols all exist in bookworm's 2.4.114, which the
# ldd check below and the tests confirm).
#
# DEST is $DCNV2_LAVAPIPE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/dcnv2/lavapipe (node-gpu.ts and the
# webgpu package's vitest config look there too). Idempotent: does nothing when DEST already holds this
# version. The package version is pinned and its SHA-256 checked; it is fetched from the Debian pool, or
# from snapshot.debian.org (by hash) once backports has moved on. DCNV2_LAVAPIPE_DEB=/path/to/the.deb
# uses a local copy instead (still checksummed). Needs curl and dpkg-deb (Debian's dpkg), no root.
set -euo pipefail

MESA_VERSION='25.0.7-2~bpo12+1'
DEB_NAME="mesa-vulkan-drivers_${MESA_VERSION}_amd64.deb"
DEB_POOL_PATH="pool/main/m/mesa/${DEB_NAME}"
DEB_SHA256='3899f1800424c60a05df5d6913076a526ca8fdbabec43672cd397563d1ca3263'
DEB_SHA1='690815f474701be97646657f06069dcd3d56f644'
DEB_URLS=(
  "https://deb.debian.org/debian/${DEB_POOL_PATH}"
  "https://snapshot.debian.org/file/${DEB_SHA1}"
)

DEST="${DCNV2_LAVAPIPE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dcnv2/lavapipe}"
say() { echo "fetch-lavapipe: $*" >&2; }

if [ -f "$DEST/lvp_icd.json" ] && [ -f "$DEST/libvulkan_lvp.so" ] && [ "$(cat "$DEST/VERSION" 2>/dev/null)" = "$MESA_VERSION" ]; then
  exit 0
fi

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
if [ "$arch" != amd64 ] && [ "$arch" != x86_64 ]; then
  say "only the amd64 package is pinned (this machine is $arch); the webgpu float16 tests need VK_ICD_FILENAMES pointing at a driver with shaderFloat16"
  exit 1
fi
for tool in curl dpkg-deb sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { say "$tool is required"; exit 1; }
done

mkdir -p "$(dirname "$DEST")"
work=$(mktemp -d "$(dirname "$DEST")/.lavapipe.XXXXXX")
trap 'rm -rf "$work"' EXIT

deb="$work/$DEB_NAME"
if [ -n "${DCNV2_LAVAPIPE_DEB:-}" ]; then
  cp "$DCNV2_LAVAPIPE_DEB" "$deb"
else
  for url in "${DEB_URLS[@]}"; do
    say "downloading $url"
    if curl -fsSL --retry 3 --connect-timeout 20 -o "$deb" "$url"; then break; fi
    rm -f "$deb"
  done
  [ -f "$deb" ] || { say "could not download $DEB_NAME"; exit 1; }
fi
echo "$DEB_SHA256  $deb" | sha256sum -c --quiet - || { say "checksum mismatch for $DEB_NAME"; exit 1; }

dpkg-deb -x "$deb" "$work/root"
lib=$(find "$work/root" -name libvulkan_lvp.so -type f | head -n 1)
[ -n "$lib" ] || { say "libvulkan_lvp.so not found in $DEB_NAME"; exit 1; }

stage="$work/out"
mkdir -p "$stage"
cp "$lib" "$stage/libvulkan_lvp.so"
cp "$work/root/usr/share/doc/mesa-vulkan-drivers/copyright" "$stage/copyright"
missing=$(ldd "$stage/libvulkan_lvp.so" | awk '/not found/ { print $1 }' | tr '\n' ' ')
if [ -n "$missing" ]; then
  say "libvulkan_lvp.so needs libraries this machine lacks: $missing(install Debian's chromium, which pulls them in)"
  exit 1
fi
# The packaged manifest names the library by file name only (resolved in the system library path): point
# it at our copy. api_version is the driver's own.
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$work/root/usr/share/vulkan/icd.d/lvp_icd.json")
cat >"$stage/lvp_icd.json" <<EOF
{
    "file_format_version": "1.0.0",
    "ICD": {
        "library_path": "$DEST/libvulkan_lvp.so",
        "api_version": "${api:-1.3.0}"
    }
}
EOF
echo "$MESA_VERSION" >"$stage/VERSION"

rm -rf "$DEST"
mv "$stage" "$DEST"
say "lavapipe $MESA_VERSION ready: VK_ICD_FILENAMES=$DEST/lvp_icd.json"
