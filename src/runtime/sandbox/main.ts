/**
 * The sandbox: one long-lived process per owner (a test process, the CLI), living inside the user
 * namespace, in a mount namespace and pid namespace of its own. It holds the containers of its
 * owner, keeps shims warm, and when the owner goes away — exit, crash or SIGKILL, the IPC channel
 * closes in every case — it removes everything it made and exits. If the sandbox itself is killed,
 * the kernel ends its pid namespace (every container with it) and the next sandbox's sweep removes
 * the directories.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError, isMayflyError } from '../../errors.js';
import { commitLayer, removeRuntimeMountpoints, snapshotDir } from '../../image/build/commit-layer.js';
import { stageCopy } from '../../image/build/stage-copy.js';
import { pullImage } from '../../image/pull.js';
import { parsePlatform } from '../../image/registry/index.js';
import { ImageStore } from '../../image/store/image-store.js';
import { distFile } from '../../paths.js';
import { detectCgroups, noCgroups } from '../cgroups/index.js';
import type { CgroupBackend } from '../cgroups/types.js';
import * as sys from '../syscalls.js';
import { ensureLayout, holdSandboxLock, layoutOf, releaseSandboxLock, reserveName, sweepOrphans } from '../state.js';
import { SandboxContainer, type RootfsDriver, type SandboxServices } from './container.js';
import type { Request, SandboxMessage } from './protocol.js';
import { mountFuseOverlay } from './fuse-overlay.js';
import { loadImages, removeStorePaths } from './image-ops.js';
import { ShimPool, spawnShim } from './shim-pool.js';
import { copyIn, copyOut } from './copy.js';
import { volumesToRemove } from '../volumes.js';
import { SandboxNetworks } from '../../network/sandbox-networks.js';
import { outboundSupport } from '../../network/outbound.js';
import { sweepEphemeralNetworks } from '../../network/network-store.js';

const env = process.env;
const layout = layoutOf(env.MAYFLY_HOME!);
const sandboxId = env.MAYFLY_SANDBOX_ID!;
const containers = new Map<string, SandboxContainer>();
const store = new ImageStore(layout.home);
const warnings: string[] = [];
let lockFd = -1;

function send(msg: SandboxMessage): void {
  if (process.connected) process.send!(msg);
}

/**
 * Kernel overlayfs inside our user namespace, else fuse-overlayfs, else a copy per container:
 * decided once per sandbox by trying, reported by `mayfly doctor`.
 */
async function probeRootfsDriver(): Promise<RootfsDriver> {
  const forced = env.MAYFLY_ROOTFS_DRIVER;
  if (forced === 'overlay' || forced === 'fuse-overlayfs' || forced === 'copy') return forced;
  const tmp = mkdtempSync(join(layout.home, 'probe-'));
  const dirs = { lower: join(tmp, 'lower'), upper: join(tmp, 'upper'), work: join(tmp, 'work'), merged: join(tmp, 'merged') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  try {
    sys.mount('overlay', dirs.merged, 'overlay', 0, `lowerdir=${dirs.lower},upperdir=${dirs.upper},workdir=${dirs.work},userxattr,volatile`);
    sys.umount(dirs.merged);
    return 'overlay';
  } catch (e) {
    const why = (e as Error).message;
    try {
      await (await mountFuseOverlay([dirs.lower], dirs.upper, dirs.work, dirs.merged)).unmount();
      warnings.push(`kernel overlayfs is refused in a user namespace here (${why}): using fuse-overlayfs, which is slower`);
      return 'fuse-overlayfs';
    } catch {
      warnings.push(`neither kernel overlayfs (${why}) nor fuse-overlayfs works here: containers get a copy of their layers, which is slow`);
      return 'copy';
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function findInit(): string | null {
  for (const p of ['/usr/bin/tini-static', '/usr/bin/tini', '/sbin/tini', '/usr/local/bin/tini']) if (existsSync(p)) return p;
  return null;
}

async function boot(): Promise<SandboxServices> {
  ensureLayout(layout);
  lockFd = holdSandboxLock(layout, sandboxId);
  const removed = sweepOrphans(layout, sandboxId);
  if (removed.length && env.MAYFLY_DEBUG) process.stderr.write(`mayfly: removed ${removed.length} orphaned container(s)\n`);
  const rootfsDriver = await probeRootfsDriver();
  let cgroups: CgroupBackend = detectCgroups();
  if (env.MAYFLY_CGROUPS === 'none') cgroups = noCgroups('disabled by MAYFLY_CGROUPS=none');
  // cgroups of containers whose sandbox was killed; those of other MAYFLY_HOMEs are busy or young
  void cgroups.sweep((id) => existsSync(join(layout.containers, id)), new Set(removed)).catch(() => {});
  const shimCommand = ['unshare', '--mount', '--uts', '--ipc', '--pid', '--fork', '--kill-child', '--', process.execPath, distFile('runtime/shim/main.js')];
  const runDir = join(layout.sandboxes, sandboxId);
  mkdirSync(join(runDir, 'staging'), { recursive: true, mode: 0o700 });
  const networks = new SandboxNetworks(runDir);
  const pool = new ShimPool(shimCommand, Number(env.MAYFLY_SHIM_POOL ?? 1));
  let limitWarned = false;
  const warned = new Set<string>();
  const svc: SandboxServices = {
    layout,
    sandboxId,
    rootfsDriver,
    fullIdMap: env.MAYFLY_FULL_IDMAP === '1',
    initBinary: findInit(),
    shimCommand,
    takeShim: (fresh) => (fresh ? spawnShim(shimCommand) : pool.take()),
    refillShims: () => setTimeout(() => pool.refill(), 0),
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
  process.once('disconnect', () => void shutdown(pool, networks));
  send({ event: 'ready', hostPid: 0, runDir, rootfsDriver, cgroups: `${cgroups.kind}: ${cgroups.reason}`, warnings: warnings.splice(0) });
  return svc;
}

async function shutdown(pool: ShimPool, networks: SandboxNetworks): Promise<never> {
  pool.close();
  await Promise.allSettled([...containers.values()].map((c) => c.remove(true)));
  networks.close();
  sweepEphemeralNetworks(layout, sandboxId);
  releaseSandboxLock(layout, sandboxId, lockFd);
  process.exit(0);
}

function get(id: string): SandboxContainer {
  const c = containers.get(id);
  if (!c) throw new MayflyError('CONTAINER_NOT_FOUND', `no such container: ${id}`);
  return c;
}

async function handle(svc: SandboxServices, req: Request): Promise<unknown> {
  switch (req.op) {
    case 'create': {
      const { id, name, spec } = req.args;
      if (!reserveName(layout, name, id)) {
        throw new MayflyError('INVALID_OPTION', `the container name "${name}" is already in use`, { hint: 'choose another name, or remove that container first' });
      }
      const c = new SandboxContainer(id, name, spec, svc);
      containers.set(id, c);
      try {
        await c.create();
        return { dir: c.dir, warnings: warnings.splice(0) };
      } catch (e) {
        containers.delete(id);
        await c.remove(true).catch(() => {});
        throw e;
      }
    }
    case 'start': {
      const c = get(req.args.id);
      try {
        return await c.start(req.args.attach);
      } catch (e) {
        if (isMayflyError(e)) e.details.logs = c.recentLogs();
        throw e;
      }
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
      await copyIn(get(req.args.id).runningPid(), req.args.archive, req.args.targetDir);
      return null;
    case 'copy-out':
      await copyOut(get(req.args.id).runningPid(), req.args.path, req.args.archive);
      return null;
    case 'listening':
      return { tcp: get(req.args.id).listening() };
    case 'remove': {
      const c = containers.get(req.args.id);
      if (!c) return null;
      await c.remove(req.args.force);
      containers.delete(req.args.id);
      return null;
    }
    case 'commit-layer': {
      const { dir, parentChainId, how, runtimeMountpoints } = req.args;
      // moving takes the directory away: only mayfly's own (upper dirs, staging) may be moved
      if (how === 'move' && !dir.startsWith(`${layout.home}/`)) throw new MayflyError('INVALID_OPTION', `commit-layer: ${dir} is not under MAYFLY_HOME`);
      if (how === 'snapshot') {
        store.ensureDirs();
        const copy = await snapshotDir(dir, store.layersDir);
        if (runtimeMountpoints) removeRuntimeMountpoints(copy);
        return commitLayer(store, copy, parentChainId, 'move');
      }
      if (runtimeMountpoints) removeRuntimeMountpoints(dir);
      return commitLayer(store, dir, parentChainId, how);
    }
    case 'stage-copy': {
      store.ensureDirs();
      return { dir: await stageCopy({ ...req.args, stagingRoot: store.layersDir }) };
    }
    case 'remove-volumes': {
      const paths = volumesToRemove(layout, req.args.names, req.args.force);
      for (const p of paths) rmSync(p, { recursive: true, force: true });
      return { removed: req.args.names };
    }
    case 'remove-layers':
      return removeStorePaths(store, req.args.paths);
    case 'load':
      return loadImages(store, req.args.images, req.args.source, {
        chown: svc.fullIdMap ? 'keep' : 'tolerate',
        onWarning: (message) => send({ event: 'warning', message }),
      });
    case 'pull': {
      const { ref, platform, pullId } = req.args;
      return pullImage(store, ref, {
        chown: svc.fullIdMap ? 'keep' : 'tolerate',
        ...(platform ? { platform: parsePlatform(platform) } : {}),
        onProgress: (progress) => send({ event: 'pull-progress', pullId, progress }),
        onWarning: (message) => send({ event: 'warning', message }),
      });
    }
    case 'shutdown':
      setImmediate(() => process.disconnect());
      return null;
  }
}

function toError(e: unknown): MayflyError {
  if (isMayflyError(e)) return e;
  return new MayflyError('SANDBOX_FAILED', `sandbox error: ${(e as Error)?.message ?? String(e)}`, { details: { stack: (e as Error)?.stack } });
}

boot().then(
  (svc) => {
    process.on('message', (req: Request) => {
      handle(svc, req).then(
        (value) => send({ re: req.id, ok: true, value }),
        (e: unknown) => send({ re: req.id, ok: false, error: toError(e).toJSON() }),
      );
    });
  },
  (e: unknown) => {
    process.stderr.write(`mayfly sandbox failed to start: ${(e as Error).stack ?? e}\n`);
    process.exit(125);
  },
);
