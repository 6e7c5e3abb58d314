/**
 * The keeper: a detached owner process (one per MAYFLY_HOME, an flock decides) whose sandbox holds
 * the containers the `mayfly` CLI and compose make, and the harness's reused ones — the warm engine
 * every CLI verb talks to over its socket.
 *
 * What it holds, and for how long:
 *  - persistent containers (`run`, `run -d`, `create`, compose) are Docker's containers: a stopped
 *    one is a record and a writable layer on disk, listed by `ps -a`, until `rm`. The keeper takes
 *    over those on disk when it starts (their keeper ended), so `start` brings one back;
 *  - reused containers (`withReuse()`) go when nobody asked for anything for
 *    MAYFLY_REUSE_IDLE_SECONDS (30 min);
 *  - with nothing running it leaves after MAYFLY_KEEPER_IDLE_SECONDS (60 s) without a client
 *    (stopped containers stay on disk), and at once, removing everything, when its MAYFLY_HOME
 *    disappears (`MAYFLY_HOME=$(mktemp -d)` in CI, then `rm -rf`) or when asked to shut down;
 *  - a foreground `run` whose client goes away (killed) is stopped and removed (attach-stream.ts).
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { LocalImages } from '../engine/images.js';
import { Runtime } from '../engine/runtime.js';
import { ImageStore } from '../image/store/image-store.js';
import { listStates, writeJsonAtomic } from '../model/container-state.js';
import { sandboxAlive, unusableHome } from '../model/home.js';
import { layoutOf } from '../model/layout.js';
import { tryLock } from '../sys/locks.js';
import { serveAttach, toError } from './attach-stream.js';
import { FrameReader } from './frames.js';
import { Holdings, isLive } from './holdings.js';
import { KEEPER_INFO, KEEPER_LOCK, KEEPER_SOCKET, type AttachRequest, type KeeperMessage, type KeeperRequest } from './protocol.js';

/** What else the keeper process serves (the Docker API): it starts once the keeper listens, is told
 * of each request (the idle rules), and ends with the keeper. The process entry above both plugs it in. */
export interface KeeperService {
  socketPath: string;
  /** open client connections: the keeper does not leave while some remain */
  readonly connections: number;
  close(): void;
}
export type StartKeeperService = (o: { runtime: Runtime; holdings: Holdings; home: string; onRequest: () => void }) => Promise<KeeperService>;

/** Runs this process as the keeper of $MAYFLY_HOME (exits when another keeper holds it). */
export async function runKeeper(startService?: StartKeeperService): Promise<void> {
  const home = mayflyHome();
  const layout = layoutOf(home);
  const REUSE_IDLE_MS = Number(process.env.MAYFLY_REUSE_IDLE_SECONDS ?? 1800) * 1000;
  const IDLE_MS = Number(process.env.MAYFLY_KEEPER_IDLE_SECONDS ?? 60) * 1000;
  /** once asked for the Docker API (`docker-env`): its clients come and go like a daemon's, so the keeper waits longer */
  const API_IDLE_MS = Number(process.env.MAYFLY_API_IDLE_SECONDS ?? 3600) * 1000;
  const HOME_CHECK_MS = 1000;

  /**
   * The client that starts us passes a pipe (MAYFLY_KEEPER_REPORT_FD) on which a failure to start is
   * told — a sandbox the job's container refuses, a home that cannot be made — so that the CLI prints
   * that error instead of waiting for a socket that never comes. Closed once the keeper serves.
   */
  const reportFd = process.env.MAYFLY_KEEPER_REPORT_FD ? Number(process.env.MAYFLY_KEEPER_REPORT_FD) : undefined;
  delete process.env.MAYFLY_KEEPER_REPORT_FD;

  async function startOrReport(): Promise<{ homeIno: number; lockFd: number; runtime: Runtime }> {
    try {
      let homeIno: number, lockFd: number;
      try {
        mkdirSync(home, { recursive: true, mode: 0o700 });
        homeIno = statSync(home).ino;
        lockFd = openSync(join(home, KEEPER_LOCK), 'w');
      } catch (e) {
        throw unusableHome(home, e);
      }
      if (!tryLock(lockFd)) process.exit(0); // another keeper serves this home
      return { homeIno, lockFd, runtime: await Runtime.start({ onWarning: () => {} }) };
    } catch (e) {
      if (reportFd !== undefined) {
        const err = e instanceof MayflyError ? e.toJSON() : { code: 'SANDBOX_FAILED', message: `the mayfly keeper could not start: ${(e as Error)?.message ?? String(e)}` };
        try {
          writeSync(reportFd, JSON.stringify(err));
        } catch {
          // the client is gone; nobody to tell
        }
      }
      process.exit(1);
    }
  }

  const { homeIno, lockFd, runtime } = await startOrReport();
  if (reportFd !== undefined) closeSync(reportFd);
  const clients = new Set<Socket>();
  const holdings = new Holdings(
    runtime,
    (m) => {
      for (const s of clients) if (s.writable) s.write(`${JSON.stringify(m)}\n`);
    },
    () => touch(),
  );
  /** reused containers (not persistent) go after an idle spell of requests */
  let lastRequest = Date.now();
  let idle: NodeJS.Timeout | undefined;
  let ending = false;
  /** what startService serves (the Docker Engine API, plugged in by the process entry), on its own socket */
  let api: KeeperService | undefined;
  let apiAsked = false;
  let apiReady: (server: KeeperService | undefined) => void = () => {};
  const apiServed = new Promise<KeeperService | undefined>((resolve) => (apiReady = resolve));

  writeJsonAtomic(join(home, KEEPER_INFO), { pid: process.pid, sandboxId: runtime.sandbox.id, sandboxPid: runtime.sandbox.processId(), startedAt: new Date().toISOString() });

  // the persistent containers on disk whose keeper ended: ours now
  for (const s of listStates(layout)) {
    if (!s.persistent || s.autoRemove || s.sandboxId === runtime.sandbox.id || sandboxAlive(layout, s.sandboxId)) continue;
    try {
      holdings.track(await runtime.adopt(s.id));
    } catch (e) {
      if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly keeper: could not take over ${s.name}: ${(e as Error).message}\n`);
    }
  }

  const stopOptions = (req: { timeout?: number; signal?: string }) => ({ ...(req.timeout !== undefined ? { timeout: req.timeout } : {}), ...(req.signal ? { signal: req.signal } : {}) });

  async function handle(req: KeeperRequest): Promise<unknown> {
    switch (req.op) {
      case 'ensure':
        return holdings.ensure(req);
      case 'create':
        return holdings.describe(await holdings.create(req.options, { persistent: true, ...(req.autoRemove ? { autoRemove: true } : {}) }), true);
      case 'describe':
        return holdings.describe(holdings.get(req.container), false);
      case 'exec':
        return holdings.get(req.container).exec(req.argv, { ...(req.env ? { env: req.env } : {}), ...(req.user ? { user: req.user } : {}), ...(req.workingDir ? { workingDir: req.workingDir } : {}) });
      case 'copy-in':
        return holdings.get(req.container).copyArchiveIn(req.archive, req.targetDir);
      case 'copy-out':
        return holdings.get(req.container).copyArchiveOut(req.path, req.archive);
      case 'path-kind':
        return holdings.get(req.container).pathKind(req.path);
      case 'listening':
        return holdings.get(req.container).listening();
      case 'stats':
        return holdings.get(req.container).stats();
      case 'pause':
        return holdings.get(req.container).pause();
      case 'unpause':
        return holdings.get(req.container).unpause();
      case 'stop':
        return holdings.get(req.container).stop(stopOptions(req));
      case 'restart': {
        const c = holdings.get(req.container);
        await c.stop(stopOptions(req));
        await holdings.start(c);
        return holdings.describe(c, false);
      }
      case 'start': {
        const c = holdings.get(req.container);
        if (!isLive(c)) await holdings.start(c);
        return holdings.describe(c, false);
      }
      case 'kill': {
        const c = holdings.get(req.container);
        if (!isLive(c)) throw new MayflyError('CONTAINER_STATE', `container ${c.name} is not running`);
        await c.kill(req.signal);
        return null;
      }
      case 'remove': {
        const c = holdings.get(req.container);
        if (isLive(c) && req.force === false) throw new MayflyError('CONTAINER_STATE', `cannot remove container ${c.name}: it is running`, { hint: 'stop it first, or use rm -f' });
        await holdings.remove(c, req.volumes === true);
        return null;
      }
      case 'prune': {
        const removed: string[] = [];
        for (const c of holdings.all()) {
          if (isLive(c) || !holdings.persistent(c)) continue;
          await holdings.remove(c);
          removed.push(c.id);
        }
        return removed;
      }
      case 'commit':
        return { id: (await holdings.commit(holdings.get(req.container), req)).id };
      case 'sizes': {
        const images = new LocalImages(new ImageStore(home));
        return Promise.all(
          req.containers.map(async (ref) => {
            const c = holdings.get(ref);
            const rw = await c.diskUsage();
            const imageId = c.spec.labels['mayfly.image.id'];
            return { id: c.id, rw, virtual: rw + ((imageId ? images.find(imageId)?.size : undefined) ?? 0) };
          }),
        );
      }
      case 'connect':
        await holdings.get(req.container).connect(req.network, req.aliases ?? []);
        return null;
      case 'disconnect':
        await holdings.get(req.container).disconnect(req.network);
        return null;
      case 'list':
        return holdings.all().map((c) => holdings.describe(c, false)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      case 'shutdown':
        setImmediate(() => void shutdown(true));
        return null;
      case 'api': {
        const served = await apiServed;
        if (!served) throw new MayflyError('SANDBOX_FAILED', 'the keeper could not serve the Docker API', { hint: `see ${join(home, 'api', 'api.log')}; set MAYFLY_DEBUG=1 for details` });
        apiAsked = true;
        return { socketPath: served.socketPath };
      }
    }
  }

  /** Decides, after each request, exit and disconnection, when this keeper may go. */
  function touch(): void {
    if (idle) clearTimeout(idle);
    if (ending) return;
    const live = holdings.all().filter(isLive);
    // a persistent container that runs keeps its keeper; reused ones only while in use
    if (live.some((c) => holdings.persistent(c))) return;
    const wait = live.length ? REUSE_IDLE_MS - (Date.now() - lastRequest) : apiAsked ? API_IDLE_MS - (Date.now() - lastRequest) : IDLE_MS;
    idle = setTimeout(() => {
      // someone connected waits (a `mayfly serve`, a Docker client's stream); we go when they leave
      if (!holdings.all().some(isLive) && (clients.size || (api?.connections ?? 0))) return;
      void shutdown(false);
    }, Math.max(0, wait));
  }

  /** Ends the keeper. `removeAll`: every container goes (asked for, or the home is gone); else persistent ones stay on disk. */
  async function shutdown(removeAll: boolean): Promise<void> {
    if (ending) return;
    ending = true;
    server.close();
    api?.close();
    for (const s of clients) s.destroy();
    rmSync(socketPath, { force: true });
    if (removeAll) await Promise.allSettled(holdings.all().map((c) => c.remove({ force: true })));
    await runtime.close(); // persistent containers are stopped and released, the others removed
    rmSync(join(home, KEEPER_INFO), { force: true });
    process.exit(0);
  }

  function serveLines(socket: Socket): void {
    // line mode until a `run`/`attach` line turns the connection into an attach stream
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = Buffer.from(buffered.slice(0, nl), 'latin1').toString('utf8');
        buffered = buffered.slice(nl + 1);
        lastRequest = Date.now();
        touch();
        let req: KeeperRequest | AttachRequest;
        try {
          req = JSON.parse(line) as KeeperRequest | AttachRequest;
        } catch {
          continue;
        }
        if (req.op === 'run' || req.op === 'attach' || req.op === 'exec-attach') {
          socket.off('data', onData);
          clients.delete(socket); // an attach stream gets frames, not events
          // what came after the request line already holds frames (stdin written at once)
          void serveAttach(socket, req, new FrameReader(), holdings, Buffer.from(buffered, 'latin1'));
          return;
        }
        const r = req;
        handle(r).then(
          (value) => socket.writable && socket.write(`${JSON.stringify({ re: r.id, ok: true, value: value ?? null } satisfies KeeperMessage)}\n`),
          (e: unknown) => socket.writable && socket.write(`${JSON.stringify({ re: r.id, ok: false, error: toError(e).toJSON() } satisfies KeeperMessage)}\n`),
        );
      }
    };
    socket.on('data', onData);
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
    serveLines(socket);
  });
  server.listen(socketPath, async () => {
    try {
      api = await startService?.({
        runtime,
        holdings,
        home,
        onRequest: () => {
          lastRequest = Date.now();
          touch();
        },
      });
    } catch (e) {
      if (process.env.MAYFLY_DEBUG) process.stderr.write(`mayfly keeper: the Docker API could not listen: ${(e as Error).message}\n`);
    }
    apiReady(api);
    touch();
    process.send?.('ready');
    // a home that was deleted (or replaced) is no longer ours: remove what we hold and go. An
    // unprivileged `rm -rf` cannot delete the containers' files (subordinate ids), but it does take
    // our socket: nobody can reach us any more either.
    setInterval(() => {
      let ino: number | undefined;
      try {
        ino = statSync(home).ino;
        statSync(socketPath);
      } catch {
        ino = undefined;
      }
      if (ino !== homeIno) void shutdown(true);
    }, HOME_CHECK_MS).unref();
  });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void shutdown(false));
}
