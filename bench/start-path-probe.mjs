// The bare cost of each way a sandbox could make a container's first process, without a root
// filesystem: run from inside a user namespace (as the sandbox is), N times each, back to back.
//   (a) the native library: clone into new mount, pid, uts, ipc namespaces, unshare a net
//       namespace, exec /bin/true (what the native start path does before its mounts)
//   (b) spawning util-linux unshare with the same namespaces, then /bin/true: the least a
//       separately spawned shim (a static C binary, say) would pay before its own steps
//   (c) spawning /bin/true with no namespaces at all (libuv's spawn alone)
// Usage: node bench/start-path-probe.mjs   (it re-runs itself inside `unshare --user`)
import { spawn, spawnSync } from 'node:child_process';
import { summary } from './stats.mjs';

const N = Number(process.env.N ?? 200);

if (process.argv[2] !== '--inside') {
  const r = spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--pid', '--fork', process.execPath, import.meta.filename, '--inside'], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { startNative } = await import('../dist/runtime/native/native-start.js');
const { PidfdExits } = await import('../dist/runtime/native/pidfd-exits.js');
const exits = new PidfdExits();
const { START_NAMESPACES, CLONE } = await import('../dist/runtime/shim/steps.js');

/** @type {import('../src/runtime/shim/steps.js').Step[]} */
const steps = [
  { step: 'create network namespace', op: 'unshare', flags: CLONE.NEWNET },
  { step: 'execve', op: 'exec', argv: ['/bin/true'], env: [] },
];
function nativeOnce() {
  const r = startNative(steps, [-1, 1, 2], { nsFlags: START_NAMESPACES });
  if (!r.made || r.failure) throw new Error(r.failure.message);
  return exits.watch(r.pidfd, r.pid); // SIGCHLD, then waitid on the pidfd
}
const spawnOnce = (file, args) =>
  new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', resolve);
  });

async function time(fn) {
  for (let i = 0; i < 10; i++) await fn();
  const out = [];
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return summary(out);
}

/** @type {[string, { median: number, p90: number, n: number }][]} */
const rows = [
  ['(a) native library: clone + net namespace + exec /bin/true, reaped via pidfd', await time(nativeOnce)],
  ['(b) spawn `unshare --mount --uts --ipc --pid --net --fork --kill-child /bin/true`', await time(() => spawnOnce('unshare', ['--mount', '--uts', '--ipc', '--pid', '--net', '--fork', '--kill-child', '/bin/true']))],
  ['(c) spawn /bin/true, no namespaces', await time(() => spawnOnce('/bin/true', []))],
];
console.log('| inside a user namespace, back to back | median ms | p90 ms | n |\n|---|---:|---:|---:|');
for (const [label, s] of rows) console.log(`| ${label} | ${s.median.toFixed(2)} | ${s.p90.toFixed(2)} | ${s.n} |`);
