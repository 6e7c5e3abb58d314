#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages mayfly and its tests use, if any is missing (sudo when not root).
# --list prints them instead (the CI job container image of test/job-container/ is made from it).
set -euo pipefail
# gcc and a cross compiler build the native start library for linux-x64 and linux-arm64 (scripts/build-native.mjs)
case "$(dpkg --print-architecture 2>/dev/null)" in arm64) CROSS=gcc-x86-64-linux-gnu ;; *) CROSS=gcc-aarch64-linux-gnu ;; esac
PACKAGES=(gcc "$CROSS" util-linux iproute2 slirp4netns uidmap passwd busybox-static tini fuse-overlayfs attr mmdebstrap docker-registry apache2-utils openssl chromium zstd)
if [ "${1:-}" = --list ]; then printf '%s\n' "${PACKAGES[@]}"; exit 0; fi
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
