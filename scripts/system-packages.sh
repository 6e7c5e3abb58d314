#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages mayfly and its tests use, if any is missing (sudo when not root).
set -euo pipefail
PACKAGES=(util-linux iproute2 slirp4netns uidmap passwd busybox-static tini fuse-overlayfs attr mmdebstrap docker-registry apache2-utils openssl chromium)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
