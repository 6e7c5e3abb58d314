// Container start: from start() to /bin/true exiting, beside the bare `unshare` floor and
// `podman run --rm`, measured in one run. Prints a markdown table and writes it to bench/results/.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs } from '../dist/fixtures/busybox-rootfs.js';
import { Runtime } from '../dist/runtime/runtime.js';
import { importRootfs, podmanEnv, podmanUnavailable, PODMAN_CONFIG } from './peers/podman.mjs';
import { summary, table, timeRuns } from './stats.mjs';

const N = Number(process.env.N ?? 50);
const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-'));
process.env.MAYFLY_HOME = join(work, 'home');
const rootfs = busyboxRootfs(join(work, 'busybox'));
const rows = [];
const record = (label, ms, extra = {}) => rows.push({ label, ...summary(ms), ...extra });

function run(file, args, env) {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: 'ignore', env });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
  });
}

// The floor: util-linux unshare creating the same namespaces, running /bin/true, no root filesystem.
const floorArgs = ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--ipc', '--uts', '--net', '/bin/true'];
record('floor: `unshare --user --map-root-user --mount --pid --fork --ipc --uts --net /bin/true` from Node', await timeRuns(N, 5, () => run('unshare', floorArgs)), { floor: true });

const rt = await Runtime.start({ onWarning: () => {} });
const spec = { layers: [rootfs], command: ['/bin/true'] };
{
  const starts = [];
  const cycles = [];
  const backToBack = [];
  for (let i = 0; i < N + 5; i++) {
    // a test suite starts containers now and then: give the sandbox time to warm its next shim
    await new Promise((r) => setTimeout(r, 150));
    const t0 = performance.now();
    const c = await rt.create(spec);
    const t1 = performance.now();
    await c.start();
    await c.wait();
    const t2 = performance.now();
    await c.remove();
    const t3 = performance.now();
    if (i < 5) continue;
    starts.push(t2 - t1);
    cycles.push(t3 - t0);
  }
  record('mayfly: start() → /bin/true exited (warm sandbox and shim, overlay rootfs)', starts);
  record('mayfly: create + start + exit + remove (warm)', cycles);
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    const c = await rt.run(spec);
    await c.wait();
    await c.remove();
    backToBack.push(performance.now() - t0);
  }
  record('mayfly: create + start + exit + remove, back to back (shim start-up not hidden)', backToBack);
}
await rt.close();
record(
  'mayfly cold: Runtime.start() + run + exit + close (new sandbox each time)',
  await timeRuns(Math.min(N, 20), 2, async () => {
    const r = await Runtime.start({ onWarning: () => {} });
    const c = await r.run(spec);
    await c.wait();
    await r.close();
  }),
);

const why = podmanUnavailable();
if (why) rows.push({ label: 'podman run --rm busybox true', failed: `not measured: ${why}`, podman: true });
else {
  importRootfs(rootfs, 'mayfly-bench/busybox');
  const env = podmanEnv();
  record('podman run --rm --network none busybox true', await timeRuns(Math.min(N, 20), 3, () => run('podman', ['run', '--rm', '--network', 'none', 'mayfly-bench/busybox', 'true'], env)), { podman: true });
}

const who = process.getuid() === 0 ? 'root' : `uid ${process.getuid()} (rootless)`;
const head = `## Container start — ${new Date().toISOString()}\n\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, mayfly as ${who}.\n${why ? '' : `Peer: ${PODMAN_CONFIG}.\n`}`;
const out = `${head}\n${table(rows)}\n`;
console.log(out);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', `runtime-start-${process.getuid() === 0 ? 'root' : 'rootless'}.md`), out);
rmSync(work, { recursive: true, force: true });
spawnSync('true');
