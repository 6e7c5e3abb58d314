#!/usr/bin/env node
// mayfly promises "no root": when the tests run as root (as CI does), run the whole suite again as
// an unprivileged user with a subordinate id range, created here if needed. Arguments go to vitest
// (e.g. a path filter: node test/support/run-as-unprivileged.mjs test/network).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const USER = process.env.MAYFLY_TEST_USER ?? 'mfuser';
const UID = 1700;

if (process.getuid() !== 0) {
  console.log('run-as-unprivileged: already unprivileged, nothing more to run');
  process.exit(0);
}

function sh(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
}

if (sh('id', ['-u', USER]).status !== 0) {
  execFileSync('useradd', ['-m', '-u', String(UID), '-s', '/bin/bash', USER], { stdio: 'inherit' });
}
const home = sh('getent', ['passwd', USER]).stdout.split(':')[5];
for (const [file, flag] of [['/etc/subuid', '--add-subuids'], ['/etc/subgid', '--add-subgids']]) {
  if (sh('grep', ['-q', `^${USER}:`, file]).status !== 0) {
    execFileSync('usermod', [flag, '200000-265535', USER], { stdio: 'inherit' });
  }
}

const asUser = (cwd, cmd) => [
  '--reuid', USER, '--regid', USER, '--init-groups', '--', 'env', '-i',
  `HOME=${home}`, `USER=${USER}`, `LOGNAME=${USER}`, `PATH=${process.env.PATH}`, 'LANG=C.UTF-8', `CI=${process.env.CI ?? ''}`,
  // the test runner versions the nested runs take (scripts/test-matrix)
  ...(process.env.MAYFLY_TEST_RUNNERS ? [`MAYFLY_TEST_RUNNERS=${process.env.MAYFLY_TEST_RUNNERS}`] : []),
  // the start path the suite runs on (MAYFLY_START_PATH=node: the Node shim fallback)
  ...(process.env.MAYFLY_START_PATH ? [`MAYFLY_START_PATH=${process.env.MAYFLY_START_PATH}`] : []),
  // the long reliability run's settings and log (npm run reliability)
  ...Object.entries(process.env).filter(([k]) => k.startsWith('MAYFLY_RELIABILITY')).map(([k, v]) => `${k}=${v}`),
  ...cmd,
];

// The checkout may sit under a directory the user cannot enter (e.g. /root): then run from a copy.
let project = resolve(import.meta.dirname, '../..');
let copy;
if (sh('setpriv', asUser(project, ['test', '-r', join(project, 'package.json')])).status !== 0) {
  copy = mkdtempSync('/var/tmp/mayfly-unprivileged-');
  cpSync(project, copy, { recursive: true, filter: (src) => !src.includes('/.git') });
  execFileSync('chmod', ['-R', 'a+rX', copy]);
  project = copy;
}

console.log(`\nrun-as-unprivileged: the suite again as ${USER} (uid ${sh('id', ['-u', USER]).stdout.trim()}), in ${project}\n`);
const r = spawnSync('setpriv', asUser(project, [process.execPath, join(project, 'node_modules/vitest/vitest.mjs'), 'run', '--root', project, '--configLoader', 'runner', ...process.argv.slice(2)]), { cwd: project, stdio: 'inherit' });
if (copy) rmSync(copy, { recursive: true, force: true });
process.exit(r.status ?? 1);
