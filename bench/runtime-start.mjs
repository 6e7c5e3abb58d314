// Container start: from run() to /bin/true exiting, beside the bare `unshare` floor (and `podman
// run --rm` where it runs), for both start paths (native; the Node shim with MAYFLY_START_PATH=node):
//   warm          a pause of 150 ms before each start (a suite that starts containers now and then)
//   back to back  run → exit → remove with no pause (what a `beforeEach` does), B2B cycles
//   20 at once    20 × run() together, until all have exited
// The machine this runs on is shared and its load moves a lot, so each mayfly figure is measured
// interleaved with the floor: warm starts alternate with floor runs, back-to-back cycles come in
// blocks of 20 alternating with blocks of 20 floor runs; "× floor" is the median of those ratios.
// CPU time per start (all processes involved) is given too: less sensitive to the load.
//   N=50 B2B=200 PATHS=native,node node bench/runtime-start.mjs
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';
import { Runtime } from '../dist/engine/runtime.js';
import { importRootfs, podmanEnv, podmanUnavailable, PODMAN_CONFIG } from './peers/podman.mjs';
import { summary, timeRuns } from './stats.mjs';

const N = Number(process.env.N ?? 50);
const B2B = Number(process.env.B2B ?? 200);
const BLOCK = 20;
const PATHS = (process.env.PATHS ?? 'native,node').split(',');
const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-'));
process.env.MAYFLY_HOME = join(work, 'home');
const rootfs = busyboxRootfs(join(work, 'busybox'));
const rows = [];
const load = () => loadavg()[0].toFixed(1);
const loads = [load()];
const median = (v) => summary(v).median;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// CPU time (ms) a process and the children it has reaped have used. /proc/PID/stat fields 14-17
// are utime, stime, cutime, cstime, in ticks of 10 ms.
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

function run(file, args, env) {
  return /** @type {Promise<void>} */ (new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: 'ignore', env });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
  }));
}

// The floor: util-linux unshare creating the same namespaces, running /bin/true, no root filesystem.
const FLOOR = ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--ipc', '--uts', '--net', '/bin/true'];
async function floorOnce() {
  const t = performance.now();
  await run('unshare', FLOOR);
  return performance.now() - t;
}

const spec = { layers: [rootfs], command: ['/bin/true'] };
async function cycle(rt) {
  const t0 = performance.now();
  const c = await rt.run(spec);
  const { exitCode } = await c.wait();
  const t1 = performance.now();
  await c.remove();
  if (exitCode !== 0) throw new Error(`true exited ${exitCode}`);
  return [t1 - t0, performance.now() - t0];
}

function row(label, values, ratios, extra = {}) {
  rows.push({ label, ...summary(values), ratio: ratios && median(ratios), ...extra });
}

const floorAll = [];
const cpu = [];
{
  for (let i = 0; i < 5; i++) await floorOnce();
  const c0 = cpuMs(process.pid);
  const t = [];
  for (let i = 0; i < N; i++) t.push(await floorOnce());
  cpu.push(['floor: this process and its unshare children', (cpuMs(process.pid) - c0) / N]);
  floorAll.push(...t);
}

for (const path of PATHS) {
  process.env.MAYFLY_START_PATH = path;
  const rt = await Runtime.start({ onWarning: () => {} });
  const how = rt.info.startPath;
  if (!how.toLowerCase().startsWith(path === 'node' ? 'node' : path)) throw new Error(`asked for ${path}, the sandbox uses: ${how}`);
  for (let i = 0; i < 5; i++) await cycle(rt);
  // warm: pairs of (pause, floor run) and (pause, mayfly start)
  const warm = [];
  const warmRatio = [];
  for (let i = 0; i < N; i++) {
    await sleep(150);
    const f = await floorOnce();
    await sleep(150);
    const [exit] = await cycle(rt);
    warm.push(exit);
    warmRatio.push(exit / f);
    floorAll.push(f);
  }
  row(`${path}: run() → /bin/true exited, warm (150 ms pause before each)`, warm, warmRatio);
  // back to back: blocks of cycles alternating with blocks of floor runs
  const b2b = [];
  const b2bRatio = [];
  let cpuTotal = 0;
  const sandboxPid = rt.sandbox.processId();
  const t0 = performance.now();
  let floorTime = 0;
  for (let done = 0; done < B2B; done += BLOCK) {
    const f = [];
    const tf = performance.now();
    for (let i = 0; i < BLOCK; i++) f.push(await floorOnce());
    floorTime += performance.now() - tf;
    const c0 = cpuMs(process.pid) + cpuMs(sandboxPid);
    const m = [];
    for (let i = 0; i < BLOCK; i++) m.push((await cycle(rt))[1]);
    cpuTotal += cpuMs(process.pid) + cpuMs(sandboxPid) - c0;
    b2b.push(...m);
    b2bRatio.push(median(m) / median(f));
    floorAll.push(...f);
  }
  const total = performance.now() - t0 - floorTime;
  row(`${path}: back to back, ${B2B} × run → exit → remove, per cycle (the ${B2B}: ${(total / 1000).toFixed(2)} s)`, b2b, b2bRatio);
  cpu.push([`${path}, back to back: this process, the sandbox and its children`, cpuTotal / B2B]);
  // 20 at once, beside 20 floor runs at once
  const burst = [];
  const burstRatio = [];
  for (let r = 0; r < 5; r++) {
    let t = performance.now();
    await Promise.all(Array.from({ length: 20 }, () => run('unshare', FLOOR)));
    const f = performance.now() - t;
    t = performance.now();
    const cs = await Promise.all(Array.from({ length: 20 }, () => rt.run(spec)));
    await Promise.all(cs.map((c) => c.wait()));
    const m = performance.now() - t;
    await Promise.all(cs.map((c) => c.remove()));
    burst.push(m);
    burstRatio.push(m / f);
  }
  row(`${path}: 20 × run() at once → all exited (× floor: 20 unshare at once)`, burst, burstRatio);
  await rt.close();
  loads.push(load());
}
delete process.env.MAYFLY_START_PATH;
rows.unshift({ label: 'floor: `unshare --user --map-root-user --mount --pid --fork --ipc --uts --net /bin/true` from Node, back to back (all floor runs of this bench)', ...summary(floorAll), ratio: 1 });

const why = process.env.PODMAN === '0' ? 'PODMAN=0' : podmanUnavailable();
if (why) rows.push({ label: 'podman run --rm busybox true', failed: `not measured: ${why}` });
else {
  try {
    importRootfs(rootfs, 'mayfly-bench/busybox');
    const env = podmanEnv();
    const once = () => Promise.race([run('podman', ['run', '--rm', '--network', 'none', 'mayfly-bench/busybox', 'true'], env), sleep(60_000).then(() => Promise.reject(new Error('no exit within 60 s')))]);
    rows.push({ label: 'podman run --rm --network none busybox true', ...summary(await timeRuns(Math.min(N, 20), 3, once)) });
  } catch (e) {
    rows.push({ label: 'podman run --rm --network none busybox true', failed: `failed: ${e.message}` });
  }
}

const lines = ['| case | median ms | p90 ms | n | × floor (median of interleaved ratios) |', '|---|---:|---:|---:|---:|'];
for (const r of rows) {
  if (r.failed) lines.push(`| ${r.label} | ${r.failed} | | | |`);
  else lines.push(`| ${r.label} | ${r.median.toFixed(1)} | ${r.p90.toFixed(1)} | ${r.n} | ${r.ratio === undefined ? '–' : `${r.ratio.toFixed(2)}×`} |`);
}
const cpuLines = ['| CPU time per start | ms |', '|---|---:|', ...cpu.map(([what, ms]) => `| ${what} | ${ms.toFixed(1)} |`)];
const who = process.getuid() === 0 ? 'root' : `uid ${process.getuid()} (rootless)`;
const head = `## Container start — ${new Date().toISOString()}\n\n${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}, mayfly as ${who}; load average at the start and after each path: ${loads.join(', ')}.\n${why ? '' : `Peer: ${PODMAN_CONFIG}.\n`}`;
const out = `${head}\n${lines.join('\n')}\n\n${cpuLines.join('\n')}\n`;
console.log(out);
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'results', `runtime-start-${process.getuid() === 0 ? 'root' : 'rootless'}.md`), out);
rmSync(work, { recursive: true, force: true });
spawnSync('true');
