/**
 * The keeper: a detached owner process whose sandbox holds the containers started with `reuse`, so
 * that they outlive the test run that made them. Found by its socket in MAYFLY_HOME; one per home
 * (an flock decides). When nobody has asked anything for MAYFLY_REUSE_IDLE_SECONDS (default 30 min)
 * it closes its runtime — which removes every container it kept — and exits.
 */
import { mkdirSync, openSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isMayflyError, MayflyError } from '../errors.js';
import { mayflyHome } from '../paths.js';
import type { Container } from '../runtime/container.js';
import { Runtime } from '../runtime/runtime.js';
import { tryLock } from '../runtime/syscalls.js';
import { KEEPER_LOCK, KEEPER_SOCKET, type KeeperMessage, type KeeperRequest, type KeptContainer } from './protocol.js';

const home = mayflyHome();
const IDLE_MS = Number(process.env.MAYFLY_REUSE_IDLE_SECONDS ?? 1800) * 1000;
const EMPTY_MS = 5000;
const REUSE_KEY = 'mayfly.reuse.key';
const DETACHED = 'mayfly.detached';

mkdirSync(home, { recursive: true, mode: 0o700 });
const lockFd = openSync(join(home, KEEPER_LOCK), 'w');
if (!tryLock(lockFd)) process.exit(0); // another keeper serves this home

const runtime = await Runtime.start({ onWarning: () => {} });
const kept = new Map<string, Container>();
const clients = new Set<Socket>();
let idle: NodeJS.Timeout | undefined;

function describe(c: Container, created: boolean): KeptContainer {
  return {
    id: c.id,
    name: c.name,
    dir: c.dir,
    key: c.spec.labels[REUSE_KEY] ?? '',
    ports: c.ports(),
    networks: c.networks(),
    status: c.status,
    ...(c.spec.labels['mayfly.image.id'] ? { imageId: c.spec.labels['mayfly.image.id'] } : {}),
    created,
    stagingDir: join(runtime.info.runDir, 'staging'),
    detached: c.spec.labels[DETACHED] === 'true',
    command: c.spec.command,
    labels: c.spec.labels,
    ...(c.spec.labels['mayfly.image'] ? { image: c.spec.labels['mayfly.image'] } : {}),
    ...(c.exitStatus && c.status === 'exited' ? { exitCode: c.exitStatus.exitCode } : {}),
  };
}

/** By ID, unique ID prefix, or name — as Docker's CLI finds containers. */
function get(ref: string): Container {
  const all = [...kept.values()];
  const byName = all.find((x) => x.name === ref || x.id === ref);
  if (byName) return byName;
  const byPrefix = ref.length >= 3 ? all.filter((x) => x.id.startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  throw new MayflyError('CONTAINER_NOT_FOUND', byPrefix.length > 1 ? `${ref} matches several containers: give more of the ID` : `no such container: ${ref}`, {
    hint: 'mayfly ps -a lists the containers started with -d',
  });
}

function watchExit(c: Container): void {
  void c.wait().then(
    (s) => {
      broadcast({ event: 'exit', container: c.id, exitCode: s.exitCode });
      touch();
    },
    () => {},
  );
}

function broadcast(m: KeeperMessage): void {
  for (const s of clients) s.write(`${JSON.stringify(m)}\n`);
}

async function ensure(key: string, options: KeeperRequest & { op: 'ensure' }): Promise<KeptContainer> {
  const existing = kept.get(key);
  if (existing && (existing.status === 'running' || existing.status === 'paused')) return describe(existing, false);
  if (existing) {
    kept.delete(key);
    await existing.remove({ force: true }).catch(() => {});
  }
  const labels = { ...options.options.labels, [REUSE_KEY]: key, ...(options.detached ? { [DETACHED]: 'true' } : {}) };
  const c = await runtime.create({ ...options.options, labels });
  try {
    await c.start();
  } catch (e) {
    await c.remove({ force: true }).catch(() => {});
    throw e;
  }
  kept.set(key, c);
  watchExit(c);
  return describe(c, true);
}

async function handle(req: KeeperRequest): Promise<unknown> {
  switch (req.op) {
    case 'ensure':
      return ensure(req.key, req);
    case 'describe':
      return describe(get(req.container), false);
    case 'exec':
      return get(req.container).exec(req.argv, { ...(req.env ? { env: req.env } : {}), ...(req.user ? { user: req.user } : {}), ...(req.workingDir ? { workingDir: req.workingDir } : {}) });
    case 'copy-in':
      return get(req.container).copyArchiveIn(req.archive, req.targetDir);
    case 'copy-out':
      return get(req.container).copyArchiveOut(req.path, req.archive);
    case 'listening':
      return get(req.container).listening();
    case 'stats':
      return get(req.container).stats();
    case 'pause':
      return get(req.container).pause();
    case 'unpause':
      return get(req.container).unpause();
    case 'stop':
      return get(req.container).stop(req.timeout !== undefined ? { timeout: req.timeout } : {});
    case 'restart': {
      const c = get(req.container);
      await c.restart(req.timeout !== undefined ? { timeout: req.timeout } : {});
      watchExit(c);
      return describe(c, false);
    }
    case 'start': {
      const c = get(req.container);
      if (c.status !== 'running' && c.status !== 'paused') {
        await c.start();
        watchExit(c);
      }
      return describe(c, false);
    }
    case 'kill': {
      await get(req.container).kill(req.signal);
      return null;
    }
    case 'remove': {
      const c = get(req.container);
      for (const [k, v] of kept) if (v === c) kept.delete(k);
      await c.remove({ force: true });
      touch();
      return null;
    }
    case 'list':
      return [...kept.values()].map((c) => describe(c, false));
    case 'shutdown':
      setImmediate(() => void shutdown());
      return null;
  }
}

/** Reused containers go after an idle spell; detached ones (`mayfly run -d`) stay until removed. */
function touch(): void {
  if (idle) clearTimeout(idle);
  // holding nothing, it goes as soon as nobody is connected
  const wait = kept.size ? IDLE_MS : EMPTY_MS;
  idle = setTimeout(() => {
    if ([...kept.values()].some((c) => c.spec.labels[DETACHED] === 'true') || (!kept.size && clients.size)) return touch();
    void shutdown();
  }, wait);
}

async function shutdown(): Promise<never> {
  server.close();
  for (const s of clients) s.destroy();
  rmSync(socketPath, { force: true });
  await runtime.close();
  process.exit(0);
}

const socketPath = join(home, KEEPER_SOCKET);
rmSync(socketPath, { force: true }); // a dead keeper's; we hold the lock
const server = createServer((socket) => {
  clients.add(socket);
  socket.once('close', () => {
    clients.delete(socket);
    touch();
  });
  socket.on('error', () => socket.destroy());
  createInterface({ input: socket }).on('line', (line) => {
    touch();
    let req: KeeperRequest;
    try {
      req = JSON.parse(line) as KeeperRequest;
    } catch {
      return;
    }
    handle(req).then(
      (value) => socket.writable && socket.write(`${JSON.stringify({ re: req.id, ok: true, value: value ?? null } satisfies KeeperMessage)}\n`),
      (e: unknown) => {
        const err = isMayflyError(e) ? e : new MayflyError('SANDBOX_FAILED', (e as Error)?.message ?? String(e));
        if (socket.writable) socket.write(`${JSON.stringify({ re: req.id, ok: false, error: err.toJSON() } satisfies KeeperMessage)}\n`);
      },
    );
  });
});
server.listen(socketPath, () => {
  touch();
  process.send?.('ready');
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown());
