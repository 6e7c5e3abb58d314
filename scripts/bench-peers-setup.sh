#!/usr/bin/env bash
# The peers `npm run bench` measures mayfly against, installed from Debian's packages and the npm
# registry: podman 4.3 (runc, crun, conmon, netavark, slirp4netns, passt, uidmap, fuse-overlayfs),
# skopeo, Docker Distribution (`docker-registry`, the local registry every system pulls from), and
# Testcontainers for Node plus the `pg` client (devDependencies, through scripts/npm-install.sh).
# Idempotent: installs only what is missing. Runs as root (apt, useradd), or with sudo.
#
# Rootless podman runs as a dedicated user, mfpodman (a normal account with a subordinate id range,
# no login shell), so that what the bench grants it (/dev/net/tun through an ACL, at run time) is
# granted to nobody else.
#
# Nothing here configures podman system-wide: bench/peers/podman.mjs writes a private
# containers.conf, storage.conf and registries.conf under /var/tmp/mayfly-bench/podman and points
# podman at them through CONTAINERS_CONF and friends, so the machine's own podman set-up (if any)
# is left alone. Why that configuration differs from podman's defaults is written there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/podman-packages.sh
PACKAGES=(
  slirp4netns passt uidmap fuse-overlayfs skopeo docker-registry
  util-linux busybox-static mmdebstrap acl
)
missing=()
for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "bench peers: installing ${missing[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! id mfpodman >/dev/null 2>&1; then
  $SUDO useradd --no-create-home --home-dir /var/tmp/mayfly-bench/podman-rootless/home --shell /usr/sbin/nologin mfpodman
fi
if ! grep -q '^mfpodman:' /etc/subuid || ! grep -q '^mfpodman:' /etc/subgid; then
  # the first free 65536 ids above every range handed out so far
  start=$(awk -F: 'BEGIN { m = 100000 } { if ($2 + $3 > m) m = $2 + $3 } END { print m }' /etc/subuid /etc/subgid)
  $SUDO usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" mfpodman
fi
bash scripts/npm-install.sh
