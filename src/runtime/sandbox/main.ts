/**
 * The sandbox: one long-lived process per owner (a test process, the CLI), living inside the user
 * namespace, in a mount namespace and pid namespace of its own. It holds the containers of its
 * owner, keeps shims warm, and when the owner goes away — exit, crash or SIGKILL, the IPC channel
 * closes in every case — it removes everything it made and exits. If the sandbox itself is killed,
 * the kernel ends its pid namespace (every container with it) and the next sandbox's sweep removes
 * the directories.
 *
 * Shared (MAYFLY_SANDBOX_SHARED=1): the owner that started it only waits for `ready`, then leaves
 * the IPC channel; every Runtime of the home with the same start settings connects to its socket
 * (shared-server.ts), and each one's containers are removed when its connection goes. The sandbox
 * ends a short grace after its last connection.
 */
import { existsSync, mkdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from 'node:net';
import { MayflyError, isMayflyError } from '../../core/errors.js';
import { commitLayer, removeMountStubs, removeRuntimeMountpoints, snapshotDir } from '../../image/layer/commit-layer.js';
import { buildRequest } from './build-ops.js';
import { pullImage } from '../../image/pull.js';
import { parsePlatform } from '../../image/registry/index.js';
import { ImageStore } from '../../image/store/image-store.js';
import { sweepStoreLeftovers } from '../../image/store/check-store.js';
import { setParentDeathSignal } from '../../sys/process.js';
import { distFile } from '../../core/paths.js';
import { detectCgroups, noCgroups } from '../cgroups/index.js';
import type { CgroupBackend } from '../cgroups/types.js';
import { ensureLayout, holdSandboxLock, layoutOf, readState, releaseSandboxLock, reserveName, sandboxAlive, sweepOrphans, unusableHome } from '../../model/home.js';
import { SandboxContainer, type SandboxServices } from './sandbox-container.js';
import type { ProcessInput } from './process-input.js';
import type { ContainerStarted, Request, SandboxEvent, SandboxMessage, TerminalSize } from './protocol.js';
import { probeRootfsDriver } from '../rootfs/probe.js';
import * as mounts from '../../sys/mounts.js';
import type { StartLimits } from '../shim/plan.js';
import { loadImages, removeStorePaths } from './image-ops.js';
import { chooseLauncher, type Launcher } from './launcher.js';
import { Trash } from './trash.js';
import { ownMemory } from './own-memory.js';
import { copyIn, copyOut, pathKind } from './copy.js';
import { volumesToRemove } from '../volumes.js';
import { SandboxNetworks } from '../../network/sandbox-networks.js';
import { outboundSupport } from '../../network/outbound.js';
import { sweepEphemeralNetworks } from '../../network/network-store.js';
import { commitSnapshot, lookupSnapshot, removeSnapshots, verifySnapshot } from '../../image/snapshot/snapshot-store.js';
import { mountScratch, SnapshotScratch } from './snapshot-ops.js';
import { Peers, type Peer } from './peers.js';
import { serveShared } from './shared-server.js';

const env = process.env;
const layout = layoutOf(env.MAYFLY_HOME!);
const sandboxId = env.MAYFLY_SANDBOX_ID!;
const containers = new Map<string, SandboxContainer>();
/** the input of exec sessions started with -i or -t, by session id */
const execInputs = new Map<string, ProcessInput>();
const store = new ImageStore(layout.home);
const warnings: string[] = [];
let lockFd = -1;
let scratch: SnapshotScratch;
let cgroupSweep: Promise<unknown> = Promise.resolve();

const shared = env.MAYFLY_SANDBOX_SHARED === '1';
/** a shared sandbox ends this long after its last connection went (a test file's next Runtime takes it over) */
const SHARED_GRACE_MS = Number(env.MAYFLY_SHARED_SANDBOX_GRACE_MS ?? 2000);
const peers = new Peers();
/** the owner that started us, over the IPC channel: the only peer of a per-process sandbox */
const ipcPeer: Peer = {
  send: (m) => {
    if (process.connected) process.send!(m);
  },
  end: () => setImmediate(() => process.disconnect()),
};
let readyEvent: Extract<SandboxEvent, { event: 'ready' }> | undefined;
let served: Server | undefined;
let lastGone: NodeJS.Timeout | undefined;

/** Containers' and sessions' events to their owner, warnings to every peer. */
function send(msg: SandboxMessage): void {
  peers.route(msg);
}

function findInit(): string | null {
  for (const p of ['/usr/bin/tini-static', '/usr/bin/tini', '/sbin/tini', '/usr/local/bin/tini']) if (existsSync(p)) return p;
  return null;
}

async function boot(): Promise<SandboxServices> {
  // the util-linux wrapper that made the namespaces is our parent: if it dies (killed), so do we, and
  // with us — the init of this pid namespace — every container; the owner's channel alone would not
  // tell, since the owner may still be alive
  setParentDeathSignal(9);
  try {
    ensureLayout(layout);
  } catch (e) {
    throw unusableHome(layout.home, e);
  }
  lockFd = holdSandboxLock(layout, sandboxId);
  const removed = sweepOrphans(layout, sandboxId);
  if (removed.length && env.MAYFLY_DEBUG) process.stderr.write(`mayfly: removed ${removed.length} orphaned container(s)\n`);
  // half-written blobs and layers of installs that died with their process (none is running: the lock is free)
  const leftovers = sweepStoreLeftovers(store);
  if (leftovers.length && env.MAYFLY_DEBUG) process.stderr.write(`mayfly: removed ${leftovers.length} leftover(s) of unfinished installs\n`);
  const runDir = join(layout.sandboxes, sandboxId);
  mkdirSync(join(runDir, 'staging'), { recursive: true, mode: 0o700 });
  // the scratch tmpfs before any Node shim starts: their mount namespaces are copies of ours
  const scratchDir = mountScratch(runDir).dir;
  scratch = new SnapshotScratch(scratchDir);
  const { driver: rootfs, warning: rootfsWarning, reason: rootfsReason } = await probeRootfsDriver(layout.home, env.MAYFLY_ROOTFS_DRIVER, runDir);
  if (rootfsWarning) warnings.push(rootfsWarning);
  let cgroups: CgroupBackend = detectCgroups();
  if (env.MAYFLY_CGROUPS === 'none') cgroups = noCgroups('disabled by MAYFLY_CGROUPS=none');
  // cgroups of containers whose sandbox was killed; those of other MAYFLY_HOMEs are busy or young.
  // Awaited when there were orphans (so that a start after a crash finds nothing left), else in the background
  cgroupSweep = cgroups.sweep((id) => existsSync(join(layout.containers, id)), new Set(removed)).catch(() => []);
  if (removed.length) await cgroupSweep;
  const startLimits = JSON.parse(env.MAYFLY_START_LIMITS ?? '{"proc":"new","sys":"new","sethostname":true}') as StartLimits;
  const shimCommand = [
    // Without a pid namespace of our own (/proc by bind: runtime/start-limits.ts) the kernel does not
    // end the Node shims with us: a parent-death signal on each `unshare` does, and --kill-child
    // passes it on to the shim (natively started containers have one set by their steps).
    ...(startLimits.proc === 'bind' ? ['setpriv', '--pdeathsig', 'KILL', '--'] : []),
    'unshare', '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--', process.execPath, distFile('runtime/shim/main.js'),
  ];
  const networks = new SandboxNetworks(runDir);
  const trash = new Trash(join(runDir, 'trash'));
  const launcher = chooseLauncher(env, shimCommand);
  let limitWarned = false;
  const warned = new Set<string>();
  const svc: SandboxServices = {
    layout,
    sandboxId,
    rootfs,
    fullIdMap: env.MAYFLY_FULL_IDMAP === '1',
    startLimits,
    initBinary: findInit(),
    launcher,
    trash,
    runFiles: join(scratchDir, 'containers'),
    async createCgroup(id, spec) {
      // Joining cgroup v1 hierarchies costs ~10 ms per start: only containers with limits pay it;
      // the others pause by SIGSTOP and take their stats from /proc.
      if (!Object.values(spec.limits).some((v) => v !== undefined)) return null;
      if (cgroups.kind === 'none') {
        if (!limitWarned) {
          limitWarned = true;
          warnings.push(`resource limits are not enforced: ${cgroups.reason}`);
        }
        return null;
      }
      return cgroups.create(id, { ...spec.limits });
    },
    emit: send,
    networks,
    outbound: outboundSupport(),
    warnOnce(message) {
      if (warned.has(message)) return;
      warned.add(message);
      send({ event: 'warning', message });
    },
  };
  made = { launcher, networks, trash, scratchDir };
  // the owner may have gone while we were starting: its 'disconnect' came before anything was made
  if (!process.connected) void shutdown();
  readyEvent = { event: 'ready', hostPid: 0, sandboxId, runDir, rootfsDriver: rootfs.name, ...(rootfsReason ? { rootfsReason } : {}), cgroups: `${cgroups.kind}: ${cgroups.reason}`, startPath: launcher.detail, warnings: warnings.splice(0) };
  return svc;
}

/** creates, starts and adoptions in progress: a peer that goes is cleaned up once they end */
const underWay = new Map<Promise<unknown>, Peer>();
/** containers an adoption is taking over (not yet in `containers`) */
const adopting = new Set<string>();
const UNDER_WAY_WAIT_MS = 5000;

/** snapshot commits under way: an owner that goes takes its half-written copy with it */
const committing = new Map<Promise<unknown>, { peer: Peer; abort: AbortController }>();

/** Ends the given commits (each removes its half copy) and waits until they have. */
async function abortCommits(which: (peer: Peer) => boolean): Promise<void> {
  const mine = [...committing].filter(([, c]) => which(c.peer));
  for (const [, c] of mine) c.abort.abort();
  await Promise.allSettled(mine.map(([work]) => work));
}

/** What boot made that shutdown must undo; nothing yet while it runs. */
let made: { launcher: Launcher; networks: SandboxNetworks; trash: Trash; scratchDir: string } | undefined;
let shuttingDown = false;

// From the first moment: an owner that dies while we boot must not leave us running forever. A
// shared sandbox's starter leaves the channel once we serve: from then on connections count.
process.once('disconnect', () => {
  if (!served) void shutdown();
});

/** A shared sandbox's peer went: exactly its containers are removed (persistent ones kept, stopped). */
async function peerGone(peer: Peer): Promise<void> {
  peers.all.delete(peer);
  await abortCommits((p) => p === peer);
  const mine = [...underWay].filter(([, p]) => p === peer).map(([w]) => w);
  await Promise.race([Promise.allSettled(mine), new Promise((r) => setTimeout(r, UNDER_WAY_WAIT_MS))]);
  const ids = peers.takeAll(peer);
  await Promise.allSettled(
    ids.map(async (id) => {
      execInputs.delete(id);
      const c = containers.get(id);
      if (!c) return;
      await (c.persistent ? c.release() : c.remove(true));
      containers.delete(id);
    }),
  );
  scratch.discardAllOf(peer);
  // the grace period begins once its containers are gone: a shutdown must not remove them alongside
  if (!peers.all.size && !shuttingDown) endAfterGrace();
}

/** Serves the socket in the run directory; the starter is told `ready` once it listens. */
async function serve(svc: SandboxServices): Promise<void> {
  served = await serveShared({
    path: join(layout.sandboxes, sandboxId, 'api.sock'),
    hello: () => readyEvent!,
    accepting: () => !shuttingDown,
    onConnect: (peer) => {
      clearTimeout(lastGone);
      peers.all.add(peer);
    },
    onRequest: (peer, req) => dispatch(svc, req, peer),
    onGone: peerGone,
  });
  // nobody connects (the starter died after `ready`): the grace ends us as after a last connection
  endAfterGrace();
}

function endAfterGrace(): void {
  clearTimeout(lastGone);
  lastGone = setTimeout(() => {
    if (!peers.all.size) void shutdown();
  }, SHARED_GRACE_MS);
}

async function shutdown(): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  if (!made) {
    // still booting: boot() calls back here once it has made what shutdown undoes, or fails and exits
    shuttingDown = false;
    return;
  }
  const { launcher, networks, trash, scratchDir } = made;
  if (served) {
    // the pointer first (only if it is still ours: a newer sandbox may have taken the name), then
    // the socket: a Runtime that starts now finds neither and starts another sandbox
    const pointer = env.MAYFLY_SANDBOX_POINTER;
    try {
      if (pointer && readlinkSync(pointer) === join(layout.sandboxes, sandboxId, 'api.sock')) rmSync(pointer, { force: true });
    } catch {
      // no pointer
    }
    served.close();
  }
  launcher.close();
  await abortCommits(() => true);
  await cgroupSweep;
  // creates and starts under way finish making what they make (a cgroup, a process), so that it is removed below
  await Promise.race([Promise.allSettled(underWay.keys()), new Promise((r) => setTimeout(r, UNDER_WAY_WAIT_MS))]);
  // persistent containers stay on disk, stopped, for another sandbox to take over
  await Promise.allSettled([...containers.values()].map((c) => (c.persistent ? c.release() : c.remove(true))));
  await trash.drain();
  try {
    mounts.umount(scratchDir); // the run directory goes next, with what networks.close() removes
  } catch {
    // not mounted (the warning at boot said so)
  }
  // a spare namespace being wired (SandboxNetworks.refillSpare) is made or gone before its clean-up
  await Promise.race([networks.idle(), new Promise((r) => setTimeout(r, UNDER_WAY_WAIT_MS))]);
  networks.close();
  sweepEphemeralNetworks(layout, sandboxId);
  releaseSandboxLock(layout, sandboxId, lockFd);
  process.exit(0);
}

async function startContainer(c: SandboxContainer, attach: boolean, size?: TerminalSize): Promise<ContainerStarted> {
  try {
    return await c.start(attach, size);
  } catch (e) {
    if (isMayflyError(e)) e.details.logs = c.recentLogs();
    throw e;
  }
}

function get(id: string): SandboxContainer {
  const c = containers.get(id);
  if (!c) throw new MayflyError('CONTAINER_NOT_FOUND', `no such container: ${id}`);
  return c;
}

async function handle(svc: SandboxServices, req: Request, peer: Peer): Promise<unknown> {
  switch (req.op) {
    case 'create': {
      const { id, name, spec, extras } = req.args;
      if (!reserveName(layout, name, id)) {
        throw new MayflyError('INVALID_OPTION', `the container name "${name}" is already in use`, { hint: 'choose another name, or remove that container first' });
      }
      const c = new SandboxContainer(id, name, spec, svc, extras);
      containers.set(id, c);
      peers.own(id, peer);
      try {
        await c.create();
        const started = req.args.start ? await startContainer(c, req.args.start.attach, req.args.start.size) : undefined;
        return { dir: c.dir, warnings: warnings.splice(0), ...(started ? { started } : {}) };
      } catch (e) {
        containers.delete(id);
        peers.disown(id);
        await c.remove(true).catch(() => {});
        throw e;
      }
    }
    case 'start':
      return startContainer(get(req.args.id), req.args.attach, req.args.size);
    case 'input': {
      const { id, data, eof } = req.args;
      const input = execInputs.get(id) ?? containers.get(id)?.input;
      if (!input) throw new MayflyError('CONTAINER_STATE', `${containers.get(id)?.name ?? id} does not take input: it was not started with -i or -t, or it has ended`);
      if (data?.length) input.write(data);
      if (eof) input.end();
      return null;
    }
    case 'resize': {
      const { id, cols, rows } = req.args;
      (execInputs.get(id) ?? containers.get(id)?.input)?.resize(cols, rows);
      return null;
    }
    case 'exec-attached': {
      const { id, session, request, tty, stdin, size } = req.args;
      const run = await get(id).execAttached(request, { tty, stdin, ...(size ? { size } : {}) }, (stream, data) => peer.send({ event: 'output', id: session, stream, data }));
      if (run.input) execInputs.set(session, run.input);
      void run.exited.then((exitCode) => {
        execInputs.delete(session);
        peer.send({ event: 'exec-exit', session, exitCode });
      });
      return null;
    }
    case 'stop':
      return { exitCode: await get(req.args.id).stop(req.args.signal, req.args.timeout) };
    case 'kill':
      get(req.args.id).kill(req.args.signal);
      return null;
    case 'pause':
      return { method: await get(req.args.id).pause() };
    case 'unpause':
      await get(req.args.id).unpause();
      return null;
    case 'exec':
      return get(req.args.id).exec(req.args.request);
    case 'stats':
      return get(req.args.id).stats();
    case 'copy-in':
      await get(req.args.id).withRoot((root) => copyIn(root, req.args.archive, req.args.targetDir));
      return null;
    case 'copy-out':
      await get(req.args.id).withRoot((root) => copyOut(root, req.args.path, req.args.archive));
      return null;
    case 'network-connect':
      return { networks: await get(req.args.id).connectNetwork(req.args.network, req.args.aliases) };
    case 'network-disconnect':
      return { networks: await get(req.args.id).disconnectNetwork(req.args.network) };
    case 'path-kind':
      return { kind: await get(req.args.id).withRoot(async (root) => pathKind(root, req.args.path)) };
    case 'listening':
      return { tcp: get(req.args.id).listening() };
    case 'memory':
      return ownMemory(req.args.gc);
    case 'remove': {
      const c = containers.get(req.args.id);
      if (!c) return null;
      await c.remove(req.args.force);
      containers.delete(req.args.id);
      peers.disown(req.args.id);
      return null;
    }
    case 'disk-usage':
      return { rw: get(req.args.id).diskUsage() };
    case 'adopt': {
      const { id } = req.args;
      // two peers of a shared sandbox may adopt the same container at once: one wins
      const held = containers.has(id) || adopting.has(id);
      const dir = join(layout.containers, id);
      const state = readState(dir);
      if (held || !state) throw new MayflyError('CONTAINER_NOT_FOUND', held ? `container ${id} is already held here` : `no such container: ${id}`);
      if (state.sandboxId !== sandboxId && sandboxAlive(layout, state.sandboxId)) throw new MayflyError('CONTAINER_STATE', `container ${state.name} is held by another live sandbox`);
      if (!reserveName(layout, state.name, id)) throw new MayflyError('CONTAINER_STATE', `the name of container ${state.name} was taken by another container`);
      adopting.add(id);
      let c: SandboxContainer;
      try {
        c = await SandboxContainer.adopt(state, svc);
      } finally {
        adopting.delete(id);
      }
      containers.set(id, c);
      peers.own(id, peer);
      return { name: c.name, spec: c.spec, dir: c.dir, ...(c.current as { status: 'created' | 'exited'; exitCode?: number }), extras: c.extras };
    }
    case 'commit-layer': {
      const { dir, parentChainId, how } = req.args;
      // moving takes the directory away: only mayfly's own (staging dirs) may be moved
      if (how === 'move' && !dir.startsWith(`${layout.home}/`)) throw new MayflyError('INVALID_OPTION', `commit-layer: ${dir} is not under MAYFLY_HOME`);
      return commitLayer(store, dir, parentChainId, how, req.args.compression);
    }
    case 'commit-container': {
      const { id, parentChainId, how, mountpoints, compression } = req.args;
      const c = get(id);
      const diff = await c.diff();
      store.ensureDirs();
      const dir = diff.owned || how === 'move' ? diff.dir : await snapshotDir(diff.dir, store.layersDir);
      removeRuntimeMountpoints(dir);
      if (mountpoints?.length) removeMountStubs(dir, mountpoints, c.spec.layers);
      return commitLayer(store, dir, parentChainId, 'move', compression);
    }
    case 'stage-copy':
    case 'list-layers':
    case 'prepare-path':
    case 'remove-staged':
      return buildRequest(req, { store, layout, scratch: join(layout.sandboxes, sandboxId, 'staging'), driver: svc.rootfs.name });
    case 'remove-volumes': {
      const paths = volumesToRemove(layout, req.args.names, req.args.force);
      for (const p of paths) rmSync(p, { recursive: true, force: true });
      return { removed: req.args.names };
    }
    case 'snapshot-scratch':
      return scratch.create(req.args.modes, peer);
    case 'snapshot-discard-scratch':
      scratch.discard(req.args.id);
      return null;
    case 'snapshot-lookup':
      return lookupSnapshot(layout.home, req.args.key, req.args.imageId);
    case 'snapshot-verify':
      return verifySnapshot(layout.home, req.args.key);
    case 'snapshot-commit': {
      const { scratchId, ...rest } = req.args;
      const abort = new AbortController();
      const work = commitSnapshot(layout.home, { ...rest, sources: scratch.dirs(scratchId, rest.paths.length) }, abort.signal);
      committing.set(work, { peer, abort });
      try {
        return await work;
      } finally {
        committing.delete(work);
      }
    }
    case 'remove-snapshots':
      return { removed: removeSnapshots(layout.home, 'all' in req.args ? 'all' : { keys: req.args.keys }) };
    case 'remove-layers':
      return removeStorePaths(store, req.args.paths);
    case 'load':
      return loadImages(store, req.args.images, req.args.source, {
        chown: svc.fullIdMap ? 'keep' : 'tolerate',
        onWarning: (message) => peer.send({ event: 'warning', message }),
      });
    case 'pull': {
      const { ref, platform, pullId, credentials } = req.args;
      return pullImage(store, ref, {
        chown: svc.fullIdMap ? 'keep' : 'tolerate',
        ...(platform ? { platform: parsePlatform(platform) } : {}),
        ...(credentials ? { credentials } : {}),
        onProgress: (progress) => peer.send({ event: 'pull-progress', pullId, progress }),
        onWarning: (message) => peer.send({ event: 'warning', message }),
      });
    }
    case 'shutdown':
      peer.end();
      return null;
  }
}

/** Whether ENOSPC is anywhere in the error or what caused it (a stream's error, a wrapped one, a tool's message). */
function outOfSpace(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    if ((x as NodeJS.ErrnoException).code === 'ENOSPC' || /\bENOSPC\b|No space left on device/.test((x as Error).message ?? '')) return true;
  }
  return false;
}

function toError(e: unknown, op: string): MayflyError {
  if (outOfSpace(e)) {
    return new MayflyError('NO_SPACE', `no space left on the device of MAYFLY_HOME (${layout.home}) during ${op}: nothing half-made was kept`, {
      hint: 'free space there (mayfly image prune removes what no image uses), or point MAYFLY_HOME at a larger disk',
      details: { cause: (e as Error)?.message },
    });
  }
  if (isMayflyError(e)) return e;
  return new MayflyError('SANDBOX_FAILED', `sandbox error: ${(e as Error)?.message ?? String(e)}`, { details: { stack: (e as Error)?.stack } });
}

function dispatch(svc: SandboxServices, req: Request, peer: Peer): void {
  const work = handle(svc, req, peer);
  if (req.op === 'create' || req.op === 'start' || req.op === 'adopt') {
    underWay.set(work, peer);
    void work.catch(() => {}).finally(() => underWay.delete(work));
  }
  work.then(
    (value) => peer.send({ re: req.id, ok: true, value }),
    (e: unknown) => peer.send({ re: req.id, ok: false, error: toError(e, req.op).toJSON() }),
  );
}

boot().then(
  async (svc) => {
    if (shared) {
      try {
        await serve(svc);
      } catch (e) {
        ipcPeer.send({ event: 'boot-failed', error: toError(e, 'listen').toJSON() });
        return void shutdown();
      }
    } else {
      peers.all.add(ipcPeer);
      process.on('message', (req: Request) => dispatch(svc, req, ipcPeer));
    }
    ipcPeer.send(readyEvent!);
  },
  (e: unknown) => {
    // the owner turns this into its error (with the step and what to change); stderr keeps the stack
    if (env.MAYFLY_DEBUG) process.stderr.write(`mayfly sandbox failed to start: ${(e as Error).stack ?? e}\n`);
    const error = isMayflyError(e) ? e : new MayflyError('SANDBOX_FAILED', (e as Error)?.message ?? String(e), { details: { stack: (e as Error)?.stack } });
    if (process.connected) process.send!({ event: 'boot-failed', error: error.toJSON() } satisfies SandboxMessage, () => process.exit(125));
    else process.exit(125);
  },
);
