#!/usr/bin/env bash
# Installs a Node binary or test runner version the CI matrix (scripts/test-matrix) runs, into a
# cached directory outside the repository — never one of the project's dependencies — and prints
# that directory. Usage: scripts/test-versions.sh NAME   (NAME: one of the table below)
# The cache ($MAYFLY_VERSIONS_CACHE, default /var/tmp/mayfly-versions) is reused while a name's
# packages stay the same; a fresh machine gets the newest release of each major.
set -euo pipefail

declare -A PACKAGES=(
  [node22]="node@22"          # the npm registry's `node` package: the official binary for this platform
  [node24]="node@24"
  [vitest4]="vitest@4"
  [vitest5]="vitest@5"
  [jest29]="jest@29 jest-environment-node@29"
)

name=${1:?usage: scripts/test-versions.sh NAME (one of: ${!PACKAGES[*]})}
packages=${PACKAGES[$name]:-}
[ -n "$packages" ] || { echo "scripts/test-versions.sh: no version named '$name' (known: ${!PACKAGES[*]})" >&2; exit 2; }

cache=${MAYFLY_VERSIONS_CACHE:-/var/tmp/mayfly-versions}
dir=$cache/$name
if [ "$(cat "$dir/.packages" 2>/dev/null)" = "$packages" ]; then echo "$dir"; exit 0; fi

# Installed beside the cache entry and moved into place in one rename: a run that is cut off, or
# one running at the same time, never sees half an installation.
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo '{ "private": true }' >"$tmp/package.json"
# npm's output goes to stderr: stdout is the directory only
(cd "$tmp" && npm install --no-audit --no-fund --loglevel=error $packages >&2)
echo "$packages" >"$tmp/.packages"
chmod -R a+rX "$tmp" # the unprivileged test user runs these too
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
  # in the way: another run's installation of the same packages (keep it), or an outdated one
  [ "$(cat "$dir/.packages" 2>/dev/null)" = "$packages" ] || { rm -rf "$dir" && mv -T "$tmp" "$dir"; }
fi
echo "$dir"
