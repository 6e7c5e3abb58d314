// Scenario 4 of the peers bench, mayfly only and quicker to repeat: COUNT look-alike nginx
// containers run() at once, each with a published port 80, then GET until 200 (10 ms between
// probes, as bench/scenarios/ready.mjs does; PROBE_MS=N changes it), then all removed. Given several built checkouts
// (CHECKOUTS=/path/a,/path/b: each its own Runtime and MAYFLY_HOME in this process), their rounds
// alternate, so that versions are compared under the same load. Per checkout: wall time until all
// answer, run() times, run → first 200, failed probes, CPU time of the sandbox's process tree.
// As root, a floor takes its turn among them (FLOOR=0 leaves it out): the same COUNT entrypoints
// on the same image layers, command and environment, started by plain util-linux `nsenter` +
// `unshare` with everything else prepared beforehand (scenarios/unshare-floor.mjs says what is and
// is not done): what the containers' own start-up costs, without a runtime.
//   REPS=5 COUNT=20 CHECKOUTS=/tmp/base,. node bench/concurrent-sites.mjs   (after npm run build in each)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareImages } from './peers/images.mjs';
import { startRegistry } from './peers/registry.mjs';
import { descendants, processTable } from './scenarios/procfs.mjs';
import { sleep } from './scenarios/ready.mjs';
import { summary } from './stats.mjs';
import { unshareFloor } from './scenarios/unshare-floor.mjs';

const COUNT = Number(process.env.COUNT ?? 20);
const FLOOR = process.env.FLOOR !== '0' && process.getuid?.() === 0;
const REPS = Number(process.env.REPS ?? 5);
const PROBE_MS = Number(process.env.PROBE_MS ?? 10);
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

// CPU time of the owner (this process), of the sandbox's own process, of what the sandbox reaped
// (the `ip` and other helpers it runs; containers are reaped only at removal, after the round), and
// of the containers (the sandbox's live descendants, with what they reaped): measured before removal.
function cpuParts(roots) {
  const table = processTable();
  const tree = descendants(roots, table);
  const sandbox = tree.find((pid) => table.get(pid)?.comm === 'node');
  const containers = sandbox === undefined ? [] : descendants([sandbox], table).filter((pid) => pid !== sandbox);
  const own = sandbox === undefined ? 0 : cpuMs(sandbox, false);
  return [cpuMs(process.pid), own, containers.reduce((a, p) => a + cpuMs(p), 0), sandbox === undefined ? 0 : cpuMs(sandbox) - own];
}

// The machine's CPU ticks (all cores): busy and all, from /proc/stat's first line; iowait counts as idle.
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
  const all = f.reduce((a, b) => a + b, 0);
  return { busy: all - f[3] - f[4], all };
}

// GET until 200 with PROBE_MS (10, as ready.mjs's waitHttp) between probes; returns how many failed.
// The probes cost the owner CPU on the same 2 cores: a refused connect fails at once, so a site that
// refuses (the floor's, before nginx listens) is probed more often than one whose port accepts and
// then resets (mayfly's published port, before the container's nginx listens).
async function waitHttp(url) {
  for (let failed = 0; failed < 10_000; failed++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return failed;
    } catch {}
    await sleep(PROBE_MS);
  }
  throw new Error(`${url}: no 200`);
}

const results = () => ({ walls: [], runs: [], firsts: [], cpus: [], failed: [], busy: [] });

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
    systems.push({
      name: checkout,
      rt,
      async start() {
        const c = await rt.run({ image, ports: [{ containerPort: 80 }], pull: 'never' });
        return { url: c.url(80), stop: () => c.remove({ force: true }) };
      },
      cpu: () => cpuParts(fresh),
      ...results(),
    });
  }
  if (FLOOR) {
    // the image's layers as the first checkout's store keeps them, bottom first
    const rec = systems[0].rt.inspect(image);
    const layers = rec.layers.map((l) => join(work, 'home-0', 'layers', l.chainId.replace(/^sha256:/, '')));
    const floor = await unshareFloor({ dir: join(work, 'floor'), layers, config: rec.config.config ?? {}, count: COUNT });
    let batch;
    let stopping;
    let next = 0;
    systems.push({
      name: `floor: nsenter + unshare, ${COUNT} of the same entrypoint`,
      floor,
      before: () => {
        floor.prepare();
        next = 0;
        batch = undefined;
        stopping = undefined;
      },
      // the first call starts all COUNT sites (one shell forks them); each call takes one's address
      async start() {
        batch ??= floor.startAll();
        return { url: batch.urls[next++], stop: () => (stopping ??= batch.stop()) };
      },
      // owner: this process (the spawn and the probes); the sites' process trees, with what they reaped
      cpu: () => {
        if (!batch) return [cpuMs(process.pid), 0, 0];
        return [cpuMs(process.pid), 0, descendants([batch.pid]).reduce((a, p) => a + cpuMs(p), 0)];
      },
      ...results(),
    });
  }
  const round = async (s, keep) => {
    s.before?.();
    await sleep(500);
    const cpu0 = s.cpu();
    const m0 = machineTicks();
    const t0 = performance.now();
    const started = await Promise.all(
      Array.from({ length: COUNT }, async () => {
        const c = await s.start();
        const t1 = performance.now();
        const failed = await waitHttp(c.url);
        return { c, run: t1 - t0, first: performance.now() - t1, failed };
      }),
    );
    const wall = performance.now() - t0;
    const m1 = machineTicks();
    // the containers are new: all their time is this round's
    const cpu1 = s.cpu();
    await Promise.all(started.map((x) => x.c.stop()));
    if (!keep) return; // the first round warms the image's mount-point layer and the pump
    s.walls.push(wall);
    s.runs.push(...started.map((x) => x.run));
    s.firsts.push(...started.map((x) => x.first));
    s.cpus.push([cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2], (cpu1[3] ?? 0) - (cpu0[3] ?? 0)]);
    s.failed.push(started.reduce((a, x) => a + x.failed, 0));
    // ticks of 10 ms (USER_HZ 100), every core: what ran beside our processes shows as the rest
    s.busy.push({ pct: (100 * (m1.busy - m0.busy)) / (m1.all - m0.all), ms: (m1.busy - m0.busy) * 10, ours: s.cpus.at(-1).reduce((a, b) => a + b, 0) });
    process.stderr.write(`${s.name}: ${wall.toFixed(0)} ms (load ${load()})\n`);
  };
  for (const s of systems) await round(s, false);
  for (let r = 0; r < REPS; r++) for (const s of systems) await round(s, true);
  loads.push(load());
  const f = (v) => `${summary(v).median.toFixed(0)} (p90 ${summary(v).p90.toFixed(0)})`;
  console.log(`${COUNT} at once, ${REPS} rounds each, alternating, ${PROBE_MS} ms between probes; start path ${process.env.MAYFLY_START_PATH ?? 'native'}; load ${loads.join(' → ')}`);
  for (const s of systems) {
    console.log(`\n${s.name}`);
    console.log(`  all answering ms: ${s.walls.map((w) => w.toFixed(0)).join(', ')}; median ${summary(s.walls).median.toFixed(0)}`);
    console.log(`  ${s.floor ? 'spawn' : 'run()'} ms median ${f(s.runs)}; ${s.floor ? 'spawn' : 'run'} → first 200 ms median ${f(s.firsts)}`);
    const part = (i) => summary(s.cpus.map((c) => c[i])).median;
    const cpu = s.floor ? `owner ${part(0)}, the ${COUNT} sites' processes ${part(2)}` : `owner ${part(0)}, sandbox ${part(1)} (+ what it reaped ${part(3)}), the ${COUNT} containers ${part(2)}`;
    console.log(`  CPU ms per round, median: ${cpu}; failed probes per round: ${s.failed.join(', ')}`);
    console.log(`  the machine's CPUs during the round: busy ${s.busy.map((b) => b.pct.toFixed(0)).join(', ')} %; busy CPU ms ${s.busy.map((b) => b.ms).join(', ')}, of which the parts above ${s.busy.map((b) => b.ours).join(', ')} (the rest: other processes, the kernel's threads)`);
  }
} finally {
  for (const s of systems) await (s.rt ?? s.floor).close().catch((e) => process.stderr.write(`${e}\n`));
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
}
