// Issue 18's back-to-back target for several builds at once: B2B × (run `/bin/true` → exit →
// remove) in one Runtime per checkout, in blocks of 20 that alternate with blocks of 20 runs of the
// floor (`unshare --user --map-root-user --mount --pid --fork --ipc --uts --net /bin/true` spawned
// from Node), so that versions and floor share the machine's load. Per checkout: cycle median,
// "× floor" (median of the per-block ratios of medians, as bench/runtime-start.mjs), and CPU time
// per cycle (this process and the sandbox with the containers it reaped; the floor's: this process
// with its unshare children).
//   B2B=200 CHECKOUTS=/tmp/base,. node bench/back-to-back.mjs   (after npm run build in each)
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { summary } from './stats.mjs';

const here = new URL('..', import.meta.url).pathname;
const CHECKOUTS = (process.env.CHECKOUTS ?? here).split(',').map((p) => resolve(p));
const B2B = Number(process.env.B2B ?? 200);
const BLOCK = 20;
const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-b2b-'));
const load = () => loadavg()[0].toFixed(1);
const median = (v) => summary(v).median;

// utime + stime + cutime + cstime of a process, in ms (ticks of 10 ms)
function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
}

const FLOOR = ['--user', '--map-root-user', '--mount', '--pid', '--fork', '--ipc', '--uts', '--net', '/bin/true'];
function floorOnce() {
  return /** @type {Promise<number>} */ (new Promise((resolve, reject) => {
    const t = performance.now();
    const p = spawn('unshare', FLOOR, { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(performance.now() - t) : reject(new Error(`unshare exited ${code}`))));
  }));
}

const { busyboxRootfs } = await import(join(CHECKOUTS[0], 'dist/runtime/busybox-rootfs.js'));
const spec = { layers: [busyboxRootfs(join(work, 'busybox'))], command: ['/bin/true'] };
async function cycle(rt) {
  const t0 = performance.now();
  const c = await rt.run(spec);
  const { exitCode } = await c.wait();
  await c.remove();
  if (exitCode !== 0) throw new Error(`true exited ${exitCode}`);
  return performance.now() - t0;
}

const systems = [];
for (const [i, checkout] of CHECKOUTS.entries()) {
  const { Runtime } = await import(join(checkout, 'dist/engine/runtime.js'));
  const rt = await Runtime.start({ home: join(work, `home-${i}`), onWarning: () => {} });
  for (let k = 0; k < 10; k++) await cycle(rt);
  systems.push({ checkout, rt, cycles: [], ratios: [], cpu: 0 });
}
for (let k = 0; k < 10; k++) await floorOnce();
const loads = [load()];
const floors = [];
let floorCpu = 0;
for (let done = 0; done < B2B; done += BLOCK) {
  for (const s of systems) {
    const f = [];
    const c0 = cpuMs(process.pid);
    for (let i = 0; i < BLOCK; i++) f.push(await floorOnce());
    floorCpu += cpuMs(process.pid) - c0;
    floors.push(...f);
    const sandbox = s.rt.sandbox.processId();
    const c1 = cpuMs(process.pid) + cpuMs(sandbox);
    const m = [];
    for (let i = 0; i < BLOCK; i++) m.push(await cycle(s.rt));
    s.cpu += cpuMs(process.pid) + cpuMs(sandbox) - c1;
    s.cycles.push(...m);
    s.ratios.push(median(m) / median(f));
  }
}
loads.push(load());
const lines = [
  `load average ${loads.join(' → ')}; ${B2B} cycles per checkout`,
  '',
  '| what | median ms | p90 ms | × floor (median of block ratios) | per-block ratios | CPU per cycle ms |',
  '|---|---:|---:|---:|---|---:|',
  `| floor (unshare … /bin/true) | ${median(floors).toFixed(1)} | ${summary(floors).p90.toFixed(1)} | 1 | | ${(floorCpu / floors.length).toFixed(1)} |`,
];
for (const s of systems) {
  const sum = summary(s.cycles);
  lines.push(`| ${s.checkout} | ${sum.median.toFixed(1)} | ${sum.p90.toFixed(1)} | ${median(s.ratios).toFixed(2)}× | ${s.ratios.map((r) => r.toFixed(2)).join(' ')} | ${(s.cpu / B2B).toFixed(1)} |`);
  await s.rt.close();
}
console.log(lines.join('\n'));
rmSync(work, { recursive: true, force: true });
