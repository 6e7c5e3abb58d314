// A Testcontainers user's process: Testcontainers for Node, unmodified, driven by the bench over an
// IPC channel. Testcontainers picks its Docker endpoint once per process (DOCKER_HOST, read at its
// first use), so each endpoint — podman's API service, mayfly's API socket — gets a process of its
// own running this same code; only the environment differs. Timings are taken here, in the
// client's process, as a suite would see them.
//
// Messages: { id, op: 'service', kind, image, variant, n } → { ready: ms[], down: ms[] };
//           { id, op: 'startMany', image, count } → { wall, failures: string[] } (kept running);
//           { id, op: 'stopMany' } → { down };  { id, op: 'exit' }.
import { GenericContainer, Wait } from 'testcontainers';
import { iterate, now, PG_PASSWORD, waitHttp, waitPing, waitQuery } from '../scenarios/ready.mjs';

const GAP_MS = 150;
const PGDATA = '/var/lib/postgresql/data';

/** Each service as its Testcontainers users start it, and the first use that proves it ready. */
const SERVICES = {
  nginx: {
    port: 80,
    waits: [() => Wait.forHttp('/', 80), () => Wait.forHttp('/', 80).withReadTimeout(20)],
    ready: (port) => waitHttp(`http://127.0.0.1:${port}/`),
  },
  postgres: {
    port: 5432,
    waits: [() => Wait.forLogMessage(/database system is ready to accept connections/, 2)],
    configure: (g) => g.withEnvironment({ POSTGRES_PASSWORD: PG_PASSWORD }).withTmpFs({ [PGDATA]: 'rw' }),
    ready: waitQuery,
  },
  redis: {
    port: 6379,
    waits: [() => Wait.forLogMessage(/Ready to accept connections/)],
    ready: waitPing,
  },
};

async function service({ kind, image, variant, n }) {
  const svc = SERVICES[kind];
  return iterate(n, 1, GAP_MS, async () => {
    const t0 = now();
    let g = new GenericContainer(image).withExposedPorts(svc.port).withWaitStrategy(svc.waits[variant]());
    if (svc.configure) g = svc.configure(g);
    const c = await g.start();
    // the wait strategy said ready; the time counts until the first successful use, as for the others
    await svc.ready(c.getMappedPort(svc.port));
    const t1 = now();
    await c.stop();
    return { ready: t1 - t0, down: now() - t1 };
  });
}

let running = [];

async function startMany({ image, count }) {
  const t0 = now();
  const results = await Promise.allSettled(
    Array.from({ length: count }, () => new GenericContainer(image).withExposedPorts(80).withWaitStrategy(Wait.forHttp('/', 80).withReadTimeout(20)).withStartupTimeout(120_000).start()),
  );
  const wall = now() - t0;
  running = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason?.message ?? r.reason).split('\n')[0]);
  return { wall, failures };
}

async function stopMany() {
  const t0 = now();
  await Promise.all(running.map((c) => c.stop()));
  running = [];
  return { down: now() - t0 };
}

const ops = { service, startMany, stopMany };

process.on('message', async (/** @type {any} */ m) => {
  // a test process that ends: what it leaves is its teardown's (and Ryuk's) business
  if (m.op === 'exit') process.exit(0);
  try {
    process.send({ id: m.id, result: await ops[m.op](m) });
  } catch (e) {
    process.send({ id: m.id, error: String(e?.stack ?? e) });
  }
});
process.send({ ready: true });
