// Scenario 4 of the peers bench, mayfly only and quicker to repeat: COUNT look-alike nginx
// containers run() at once, each with a published port 80, then GET until 200 (10 ms between
// probes, as bench/scenarios/ready.mjs does), then all removed. Given several built checkouts
// (CHECKOUTS=/path/a,/path/b: each its own Runtime and MAYFLY_HOME in this process), their rounds
// alternate, so that versions are compared under the same load. Per checkout: wall time until all
// answer, run() times, run → first 200, failed probes, CPU time of the sandbox's process tree.
//   REPS=5 COUNT=20 CHECKOUTS=/tmp/base,. node bench/concurrent-sites.mjs   (after npm run build in each)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareImages } from './peers/images.mjs';
import { startRegistry } from './peers/registry.mjs';
import { descendants, processTable } from './scenarios/procfs.mjs';
import { sleep } from './scenarios/ready.mjs';
import { summary } from './stats.mjs';

const COUNT = Number(process.env.COUNT ?? 20);
const REPS = Number(process.env.REPS ?? 5);
const here = new URL('..', import.meta.url).pathname;
const CHECKOUTS = (process.env.CHECKOUTS ?? here).split(',').map((p) => resolve(p));
const work = mkdtempSync(join(tmpdir(), 'mayfly-bench-sites-'));
const load = () => loadavg()[0].toFixed(1);

// utime + stime (+ cutime + cstime: `reaped`) in ticks of 10 ms of a process, or 0 once it is gone.
function cpuMs(pid, reaped = true) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) * 10;
  } catch {
    return 0;
  }
}

// CPU time of the owner (this process), of the sandbox's own process, and of the containers (the
// sandbox's live descendants, with what they reaped): the containers are measured before removal.
function cpuParts(roots) {
  const table = processTable();
  const tree = descendants(roots, table);
  const sandbox = tree.find((pid) => table.get(pid)?.comm === 'node');
  const containers = sandbox === undefined ? [] : descendants([sandbox], table).filter((pid) => pid !== sandbox);
  return [cpuMs(process.pid), sandbox === undefined ? 0 : cpuMs(sandbox, false), containers.reduce((a, p) => a + cpuMs(p), 0)];
}

// GET until 200 with 10 ms between probes, as ready.mjs's waitHttp; returns how many probes failed.
async function waitHttp(url) {
  for (let failed = 0; failed < 10_000; failed++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return failed;
    } catch {}
    await sleep(10);
  }
  throw new Error(`${url}: no 200`);
}

/** the sandbox's process and its live descendants (the containers) */
function sandboxTree(sandboxPid) {
  return descendants([sandboxPid], processTable());
}

const registry = await startRegistry(join(work, 'registry'));
const loads = [load()];
const systems = [];
try {
  prepareImages(here, registry.host, join(work, 'images'));
  const image = `${registry.host}/library/nginx:latest`;
  for (const [i, checkout] of CHECKOUTS.entries()) {
    const { Runtime } = await import(join(checkout, 'dist/engine/runtime.js'));
    const before = new Set(processTable().keys());
    const rt = await Runtime.start({ home: join(work, `home-${i}`), onWarning: () => {} });
    await rt.pull(image);
    // the new processes under this one: `unshare` and the sandbox below it
    const fresh = descendants([process.pid]).filter((pid) => !before.has(pid));
    systems.push({ checkout, rt, roots: fresh, walls: [], runs: [], firsts: [], cpus: [], failed: [] });
  }
  const round = async (s, keep) => {
    await sleep(500);
    const cpu0 = cpuParts(s.roots);
    const t0 = performance.now();
    const started = await Promise.all(
      Array.from({ length: COUNT }, async () => {
        const c = await s.rt.run({ image, ports: [{ containerPort: 80 }], pull: 'never' });
        const t1 = performance.now();
        const failed = await waitHttp(c.url(80));
        return { c, run: t1 - t0, first: performance.now() - t1, failed };
      }),
    );
    const wall = performance.now() - t0;
    const cpu1 = cpuParts(s.roots); // the containers are new: all their time is this round's
    await Promise.all(started.map((x) => x.c.remove({ force: true })));
    if (!keep) return; // the first round warms the image's mount-point layer and the pump
    s.walls.push(wall);
    s.runs.push(...started.map((x) => x.run));
    s.firsts.push(...started.map((x) => x.first));
    s.cpus.push([cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2]]);
    s.failed.push(started.reduce((a, x) => a + x.failed, 0));
    process.stderr.write(`${s.checkout}: ${wall.toFixed(0)} ms (load ${load()})\n`);
  };
  for (const s of systems) await round(s, false);
  for (let r = 0; r < REPS; r++) for (const s of systems) await round(s, true);
  loads.push(load());
  const f = (v) => `${summary(v).median.toFixed(0)} (p90 ${summary(v).p90.toFixed(0)})`;
  console.log(`${COUNT} at once, ${REPS} rounds each, alternating; start path ${process.env.MAYFLY_START_PATH ?? 'native'}; load ${loads.join(' → ')}`);
  for (const s of systems) {
    console.log(`\n${s.checkout}`);
    console.log(`  all answering ms: ${s.walls.map((w) => w.toFixed(0)).join(', ')}; median ${summary(s.walls).median.toFixed(0)}`);
    console.log(`  run() ms median ${f(s.runs)}; run → first 200 ms median ${f(s.firsts)}`);
    const part = (i) => summary(s.cpus.map((c) => c[i])).median;
    console.log(`  CPU ms per round, median: owner ${part(0)}, sandbox ${part(1)}, the ${COUNT} containers ${part(2)}; failed probes per round: ${s.failed.join(', ')}`);
  }
} finally {
  for (const s of systems) await s.rt.close().catch(() => {});
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
