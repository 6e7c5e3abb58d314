#!/usr/bin/env bash
# npm ci, unless node_modules is already newer than the lock file. npm 11 refuses `npm ci` when the
# registry served no lock entries for rollup's foreign-platform binaries (all of them optional, none
# used here); `npm install` then installs exactly the locked versions of everything else.
set -euo pipefail
[ -d node_modules ] && [ node_modules -nt package-lock.json ] && exit 0
npm ci --no-audit --no-fund 2>/tmp/mayfly-npm-ci.$$ || {
  grep -q 'Missing: @rollup/' /tmp/mayfly-npm-ci.$$ || { cat /tmp/mayfly-npm-ci.$$ >&2; rm -f /tmp/mayfly-npm-ci.$$; exit 1; }
  echo "npm ci: lock file lacks optional rollup platform entries; using npm install with the lock file"
  npm install --no-audit --no-fund
}
rm -f /tmp/mayfly-npm-ci.$$
