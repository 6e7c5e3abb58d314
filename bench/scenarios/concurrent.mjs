// Scenario 4: 20 static sites (nginx) started at once, each until its first HTTP 200 on its own
// host port: wall time, failures, and the peak of the summed PSS of the system's processes
// (runtime and containers: mayfly's sandbox tree; podman's CLIs, conmons and containers; for
// Testcontainers also podman's API service), sampled every 100 ms. Then all 20 torn down at once.
import getPort from 'get-port';
import { mayflyProcesses } from '../peers/mayfly.mjs';
import { conmonPids, podman } from '../peers/podman.mjs';
import { descendants, processTable, sampleMemory } from './procfs.mjs';
import { now, sleep, waitHttp } from './ready.mjs';

const COUNT = Number(process.env.CONCURRENT ?? 20);
const SHORT = { mayfly: 'mayfly', podman: 'podman', testcontainers: 'Testcontainers', 'tc-mayfly': 'TC over mayfly' };

async function attempt(s, pids) {
  const sampler = sampleMemory(pids);
  let wall;
  let failures;
  let started = [];
  if (s.startAll) {
    // the client's own process starts them all and times it (a Testcontainers worker)
    ({ wall, failures } = await s.startAll(COUNT));
  } else {
    const t0 = now();
    const results = await Promise.allSettled(Array.from({ length: COUNT }, (_, i) => s.start(i)));
    wall = now() - t0;
    started = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    failures = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason).split('\n')[0]);
  }
  const peak = sampler.stop();
  const t1 = now();
  const measuredDown = await s.stop(started);
  return { wall, peak, failures, down: typeof measuredDown === 'number' ? measuredDown : now() - t1 };
}

export async function concurrent(ctx, teardownRows) {
  const reps = ctx.iterations(3);
  const image = ctx.images.nginx;
  const systems = [];

  systems.push({
    system: 'mayfly',
    label: `mayfly API: ${COUNT} × run() at once`,
    main: true,
    down: `mayfly: ${COUNT} × remove({ force: true }) at once`,
    start: async () => {
      const c = await ctx.rt.run({ image, ports: [{ containerPort: 80 }], pull: 'never' });
      try {
        await waitHttp(c.url(80));
      } catch (e) {
        await c.remove({ force: true });
        throw e;
      }
      return c;
    },
    stop: (cs) => Promise.all(cs.map((c) => c.remove({ force: true }))),
    pids: () => {
      const { runtime, containers } = mayflyProcesses();
      return [...runtime, ...containers];
    },
  });

  if (ctx.podman) {
    const podmanTree = (extraRoots = []) => () => {
      const table = processTable();
      const clis = [...table].filter(([, p]) => p.ppid === process.pid && p.comm === 'podman').map(([pid]) => pid);
      return descendants([...clis, ...extraRoots, ...conmonPids()], table);
    };
    systems.push({
      system: 'podman',
      label: `podman: ${COUNT} × \`podman run -d -p\` at once`,
      down: `podman: \`podman rm -f\` of ${COUNT} containers`,
      start: async () => {
        const port = await getPort({ host: '127.0.0.1' });
        const id = await podman(['run', '-d', '-p', `127.0.0.1:${port}:80`, image], ctx.podman.env);
        await waitHttp(`http://127.0.0.1:${port}/`);
        return id;
      },
      stop: async (ids) => {
        if (ids.length) await podman(['rm', '-f', ...ids], ctx.podman.env);
      },
      pids: podmanTree(),
      cleanup: () => podman(['rm', '--all', '--force', '--time', '0'], ctx.podman.env),
    });
  }
  for (const tc of ctx.tcClients ?? []) {
    systems.push({
      system: tc.system,
      label: `${tc.label}: ${COUNT} × start() at once (Wait.forHttp, 20 ms probes)`,
      down: `${tc.label}: ${COUNT} × stop() at once`,
      short: tc.short,
      startAll: (count) => tc.worker.call('startMany', { image, count }),
      stop: async () => (await tc.worker.call('stopMany')).down,
      pids: () => {
        const table = processTable();
        return descendants([...tc.servicePids(), ...(tc.system === 'testcontainers' ? conmonPids() : [])], table);
      },
      cleanup: tc.cleanup,
    });
  }

  const rows = [];
  const memRows = [];
  for (const s of systems) {
    const wall = [];
    const peak = [];
    const down = [];
    const failures = [];
    for (let i = 0; i < reps; i++) {
      await sleep(500);
      const r = await attempt(s, s.pids);
      wall.push(r.wall);
      peak.push(r.peak / 2 ** 20);
      down.push(r.down);
      failures.push(...r.failures);
      await s.cleanup?.();
    }
    rows.push({ system: s.system, label: s.label, values: wall, main: s.main, failures: failures.length, failureSample: failures[0], short: s.short ?? SHORT[s.system] });
    memRows.push({ system: s.system, label: `${s.short ?? SHORT[s.system]}: peak PSS sum`, values: peak, main: s.main, short: s.short ?? SHORT[s.system] });
    teardownRows.push({ system: s.system, label: s.down, values: down, short: s.short ?? SHORT[s.system], chart: false });
  }
  return {
    id: 4,
    shortTitle: `${COUNT} static sites at once: wall time`,
    title: `${COUNT} static sites started concurrently: wall time until all answer, failures, peak memory`,
    unit: 'ms',
    rows,
    extra: { title: 'Peak memory while starting (sum of PSS of the runtime’s and containers’ processes, sampled every 100 ms, MiB)', unit: 'MiB', rows: memRows },
    targets: (s) => {
      const m = s.find((r) => r.main);
      const p = s.find((r) => r.system === 'podman');
      const out = [{ goal: `${COUNT} at once without failures`, text: s.map((r) => `${r.system} ${r.failures} failed`).join(', '), met: m.failures === 0 }];
      if (p) out.push({ goal: '≥ 5× less wall time than podman', value: p.median / m.median, text: `${(p.median / m.median).toFixed(1)}× less`, met: p.median / m.median >= 5 });
      const tcPodman = s.find((r) => r.system === 'testcontainers');
      const tcMayfly = s.find((r) => r.system === 'tc-mayfly');
      if (tcPodman?.median && tcMayfly?.median) {
        const y = tcPodman.median / tcMayfly.median;
        out.push({ goal: 'Testcontainers over mayfly’s API socket ≥ 3× faster than over podman’s', value: y, text: `${y.toFixed(2)}× faster (${tcMayfly.median.toFixed(0)} vs ${tcPodman.median.toFixed(0)} ms)`, met: y >= 3 });
      }
      return out;
    },
  };
}
