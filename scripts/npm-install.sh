#!/usr/bin/env bash
# npm ci (exactly the locked tree), unless node_modules is already newer than the lock file.
#
# The lock file must name every platform package of every dependency (rollup's @rollup/rollup-*,
# unrs-resolver's @unrs/resolver-binding-*, esbuild's @esbuild/*), not only this machine's: npm 11's
# `npm ci` checks each optionalDependencies entry against the lock and refuses a lock that lacks one.
# npm 10 and older write such a lock when they build it from an existing node_modules (npm/cli#4828:
# the tree is read from what is installed, so foreign-platform packages are dropped); npm 11 resolves
# them all. Changing dependencies, or resolving a package-lock.json conflict after a merge:
#   1. use npm >= 11 (`npm --version`; with an older npm: `npx -y npm@11 …` for the steps below)
#   2. on a conflict: take one side's lock as the base (`git checkout --theirs package-lock.json`),
#      keep package.json as merged
#   3. `npm install --package-lock-only` (or `npm install -D pkg@range` to add one): this keeps the
#      locked versions and adds what package.json now asks for, for every platform
#   4. `npm ci --dry-run` must pass (it validates the lock as CI will, installs nothing); commit the
#      lock, then `git clone . /tmp/lockcheck && cd /tmp/lockcheck && git checkout BRANCH && npm ci`
# The project's .npmrc leaves registry URLs out of the lock, so it reads the same whoever writes it.
set -euo pipefail
[ -d node_modules ] && [ node_modules -nt package-lock.json ] && exit 0
npm ci --no-audit --no-fund
