// Scenarios 2 and 3: a service from start to ready on a random host port, and its teardown.
//   2. static site (the nginx preset image): start → first HTTP 200
//   3. postgres (the postgres preset image, data on tmpfs): start → first successful `SELECT 1`
// Each system in the way its users write it: mayfly's Runtime API; `podman run -d -p` (host port
// picked by the bench, as a script would) and `podman rm -f`; Testcontainers' GenericContainer
// with a wait strategy, and stop().
import getPort from 'get-port';
import { podman } from '../peers/podman.mjs';
import { iterate, now, PG_PASSWORD, waitHttp, waitPing, waitQuery } from './ready.mjs';

const GAP_MS = 150;
const PGDATA = '/var/lib/postgresql/data';

const SERVICES = {
  nginx: {
    port: 80,
    mayfly: (image) => ({ image, ports: [{ containerPort: 80 }] }),
    podmanArgs: [],
    ready: (port) => waitHttp(`http://127.0.0.1:${port}/`),
  },
  postgres: {
    port: 5432,
    mayfly: (image) => ({ image, ports: [{ containerPort: 5432 }], env: { POSTGRES_PASSWORD: PG_PASSWORD }, tmpfs: [{ path: PGDATA }] }),
    podmanArgs: ['-e', `POSTGRES_PASSWORD=${PG_PASSWORD}`, '--tmpfs', PGDATA],
    ready: waitQuery,
  },
  redis: {
    port: 6379,
    mayfly: (image) => ({ image, ports: [{ containerPort: 6379 }] }),
    podmanArgs: [],
    ready: waitPing,
  },
};

/** Times start → ready and teardown for every system; rows for the start table and the teardown table. */
export async function serviceRows(ctx, kind, n) {
  const svc = SERVICES[kind];
  const image = ctx.images[kind];
  const start = [];
  const teardown = [];

  const m = await iterate(n, 1, GAP_MS, async () => {
    const t0 = now();
    const c = await ctx.rt.run({ ...svc.mayfly(image), pull: 'never' });
    await svc.ready(c.port(svc.port));
    const t1 = now();
    await c.remove({ force: true });
    return { ready: t1 - t0, down: now() - t1 };
  });
  start.push({ system: 'mayfly', label: 'mayfly API: run() → ready', values: m.ready, main: true, short: 'mayfly' });
  teardown.push({ system: 'mayfly', label: `mayfly: container.remove({ force: true }) (${kind})`, values: m.down, main: kind === 'nginx', short: 'mayfly', chart: kind === 'nginx' });

  if (ctx.podman) {
    const p = await iterate(n, 1, GAP_MS, async () => {
      const hostPort = await getPort({ host: '127.0.0.1' });
      const t0 = now();
      const id = await podman(['run', '-d', '-p', `127.0.0.1:${hostPort}:${svc.port}`, ...svc.podmanArgs, image], ctx.podman.env);
      await svc.ready(hostPort);
      const t1 = now();
      await podman(['rm', '-f', id], ctx.podman.env);
      return { ready: t1 - t0, down: now() - t1 };
    });
    start.push({ system: 'podman', label: 'podman run -d -p 127.0.0.1:PORT:… → ready', values: p.ready, short: 'podman' });
    teardown.push({ system: 'podman', label: `podman rm -f (${kind})`, values: p.down, short: 'podman', chart: kind === 'nginx' });
  }

  if (ctx.podmanRootless && kind === 'nginx') {
    const p = await iterate(n, 1, GAP_MS, async () => {
      const hostPort = await getPort({ host: '127.0.0.1' });
      const t0 = now();
      const id = await ctx.podmanRootless.run(['run', '-d', '-p', `127.0.0.1:${hostPort}:${svc.port}`, ...svc.podmanArgs, image]);
      await svc.ready(hostPort);
      const t1 = now();
      await ctx.podmanRootless.run(['rm', '-f', id]);
      return { ready: t1 - t0, down: now() - t1 };
    });
    start.push({ system: 'podman', label: 'podman rootless (slirp4netns, rootlessport): run -d -p 127.0.0.1:PORT:… → ready', values: p.ready, short: 'podman rootless' });
    teardown.push({ system: 'podman', label: `podman rootless: rm -f (${kind})`, values: p.down, short: 'podman rootless', chart: false });
  }

  // Testcontainers, the same code in a process of its own per Docker endpoint (bench/peers/tc-worker.mjs)
  for (const tc of ctx.tcClients ?? []) {
    /** @type {[string, boolean][]} the worker's wait variants, in its order */
    const variants =
      kind === 'nginx'
        ? [
            ['Wait.forHttp("/", 80) with its defaults (1 s probe timeout and retry interval)', false],
            ['Wait.forHttp("/", 80).withReadTimeout(20) (probes every 20 ms)', true],
          ]
        : kind === 'redis'
          ? [['Wait.forLogMessage(/Ready to accept connections/) (what its Redis module waits for), then PING', true]]
          : [['Wait.forLogMessage(/ready to accept connections/, 2) (what its PostgreSQL module waited for), then the query', true]];
    for (const [i, [label, ref]] of variants.entries()) {
      const t = await tc.worker.call('service', { kind, image, variant: i, n });
      start.push({ system: tc.system, label: `${tc.label}: start() with ${label} → ready`, values: t.ready, peer: ref && tc.system === 'testcontainers', overMayfly: ref && tc.system !== 'testcontainers', short: ref ? tc.short : `${tc.short}, default wait` });
      if (ref) teardown.push({ system: tc.system, label: `${tc.label}: container.stop() (${kind})`, values: t.down, short: tc.short, chart: kind === 'nginx' });
    }
  }
  return { start, teardown };
}

function targets3x(s) {
  const mayfly = s.find((r) => r.main);
  const tc = s.find((r) => r.peer);
  if (!tc || !mayfly) return [];
  const x = tc.median / mayfly.median;
  const out = [{ goal: '≥ 3× faster to ready than Testcontainers-over-podman', value: x, text: `${x.toFixed(1)}× faster`, met: x >= 3 }];
  const over = s.find((r) => r.overMayfly);
  if (over?.median) {
    const y = tc.median / over.median;
    out.push({ goal: 'Testcontainers over mayfly’s API socket ≥ 3× faster than over podman’s', value: y, text: `${y.toFixed(2)}× faster (${over.median.toFixed(0)} vs ${tc.median.toFixed(0)} ms)`, met: y >= 3 });
  }
  return out;
}

export async function staticSite(ctx, teardownRows) {
  const { start, teardown } = await serviceRows(ctx, 'nginx', ctx.iterations(15));
  teardownRows.push(...teardown);
  return { id: 2, shortTitle: 'static site: start → first HTTP 200', title: 'Static site (nginx): start to first HTTP 200 on a random host port', unit: 'ms', rows: start, targets: targets3x };
}

export async function postgres(ctx, teardownRows) {
  const { start, teardown } = await serviceRows(ctx, 'postgres', ctx.iterations(8));
  teardownRows.push(...teardown);
  return { id: 3, shortTitle: 'postgres on tmpfs: start → first query', title: 'PostgreSQL (data on tmpfs): start to first successful query', unit: 'ms', rows: start, targets: targets3x };
}

export async function redis(ctx, teardownRows) {
  const { start, teardown } = await serviceRows(ctx, 'redis', ctx.iterations(15));
  teardownRows.push(...teardown);
  return { id: 9, shortTitle: 'redis: start → first PING', title: 'Redis: start to first PONG on a random host port', unit: 'ms', rows: start, targets: targets3x };
}
