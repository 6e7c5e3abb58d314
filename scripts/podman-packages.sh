#!/usr/bin/env bash
# Rootful podman 4.3 from Debian and what it runs containers with (runc, conmon, netavark), installed
# if missing (sudo when not root). Used by the bench peers (scripts/bench-peers-setup.sh) and by the
# CI job container tests (scripts/test-job-container), where podman stands for the CI's engine.
# Podman is configured per use, never system-wide: bench/peers/podman.mjs writes a private
# containers.conf and storage.conf.
set -euo pipefail
PACKAGES=(podman runc crun conmon netavark aardvark-dns containernetworking-plugins iptables)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "podman: installing ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
