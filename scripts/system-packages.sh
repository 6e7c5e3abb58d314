#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages mayfly and its tests use, if any is missing (sudo when not root).
# --list prints them instead (the CI job container image of test/job-container/ is made from it).
set -euo pipefail
# gcc and a cross compiler build the native start library for linux-x64 and linux-arm64 (scripts/build-native.mjs)
case "$(dpkg --print-architecture 2>/dev/null)" in arm64) CROSS=gcc-x86-64-linux-gnu ;; *) CROSS=gcc-aarch64-linux-gnu ;; esac
PACKAGES=(gcc "$CROSS" util-linux iproute2 slirp4netns uidmap passwd busybox-static tini fuse-overlayfs attr mmdebstrap docker-registry apache2-utils openssl chromium zstd)
# Docker's own clients, unmodified, for the Engine API tests (test/api/): only the `docker` CLI and
# docker-compose are used; the package's daemon is never started (see below).
CLIENT_PACKAGES=(docker.io docker-compose)
if [ "${1:-}" = --list ]; then printf '%s\n' "${PACKAGES[@]}" "${CLIENT_PACKAGES[@]}"; exit 0; fi
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
missing_clients=()
for p in "${CLIENT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing_clients+=("$p"); done
[ ${#missing[@]} -eq 0 ] && [ ${#missing_clients[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing: ${missing[*]} ${missing_clients[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
[ ${#missing[@]} -eq 0 ] || $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
if [ ${#missing_clients[@]} -gt 0 ]; then
  # docker.io's maintainer scripts would start dockerd and containerd through invoke-rc.d; a
  # policy-rc.d that answers 101 ("action forbidden") stops that. Container images already have
  # one; elsewhere one is put in place for this install only.
  policy_added=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy_added=true
  fi
  status=0
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing_clients[@]}" || status=$?
  if $policy_added; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  [ $status -eq 0 ] || exit $status
  # under systemd the package also enables docker.socket, which would start dockerd on the first
  # connection to /var/run/docker.sock: disabled, so only mayfly's socket answers
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now docker.socket docker.service containerd.service >/dev/null 2>&1 || true
  fi
fi
