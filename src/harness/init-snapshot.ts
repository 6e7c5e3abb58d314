/**
 * Initialised-data snapshots (`initSnapshot: { paths, quiesce }`): a database spends most of its
 * first start initialising (initdb, init scripts), and the result is the same every time. The first
 * start of a configuration initialises as usual — its state paths bound to scratch directories on
 * the sandbox's tmpfs — then, once ready, stops the server cleanly (quiesce) and keeps the state as
 * a snapshot in MAYFLY_HOME (keyed by init-snapshot-key.ts). Every start of that configuration,
 * that one included, then runs from the snapshot: each state path is a tmpfs filled from it before
 * the server starts, which finds its data initialised and starts directly.
 *
 * Faults never cost the start: a corrupt or foreign snapshot is rebuilt; a server that does not
 * stop cleanly, or a commit that fails (a full disk), leaves no snapshot — the container is started
 * again on the state it initialised, and the reason is said once per process.
 */
import type { ContainerOptions, Runtime } from '../engine/runtime.js';
import { MayflyError } from '../core/errors.js';
import type { Container } from '../runtime/container.js';
import type { ImageRecord } from '../image/store/image-store.js';
import { toContainerOptions, type ResolvedHarnessOptions } from './options.js';
import { initSnapshotKey } from './init-snapshot-key.js';
import { createAndStart, runInitialise, untilReady, waitReady, type OnRunning, type Staged } from './launch.js';
import type { InitSnapshotOutcome, StartedContainer } from './started-container.js';

type Settings = NonNullable<ResolvedHarnessOptions['initSnapshot']>;

/** Keys this process could not keep a snapshot of (a full disk): later starts of them just initialise. */
const failedKeys = new Map<string, string>();
const said = new Set<string>();

function sayOnce(kind: string, message: string): void {
  if (said.has(kind)) return;
  said.add(kind);
  process.emitWarning(message, { code: 'MAYFLY_INIT_SNAPSHOT' });
}

export async function startWithInitSnapshot(rt: Runtime, o: ResolvedHarnessOptions, staged: Staged, signal?: AbortSignal, onRunning?: OnRunning): Promise<StartedContainer> {
  const hook = onRunning ? { onRunning } : {};
  const settings = o.initSnapshot!;
  const image = await imageOf(rt, o);
  const key = initSnapshotKey(image.id, o);
  const options = toContainerOptions(o);
  // pulled once above: the creates below must not pull again (`always`) under another digest
  const base: ContainerOptions = { ...options, image: image.id, pull: 'never', labels: { ...options.labels, 'mayfly.image': o.image!, 'mayfly.init-snapshot': key } };

  const known = failedKeys.get(key);
  if (known) return initialiseOnly(rt, base, o, staged, signal, { key, source: 'initialised', kept: false, reason: known }, onRunning);

  const fromSnapshot = await startFromSnapshot(rt, base, settings, key, image.id, staged);
  if (fromSnapshot.started) {
    const ready = await readyIfVerified(rt, fromSnapshot.started, fromSnapshot.verified!, o, staged, signal, { initSnapshot: { key, source: 'snapshot' }, ...hook });
    if (ready) return ready;
  }

  // none yet (or a bad one): one process initialises, the others wait here and then find it
  const made = await rt.snapshots.initialising(key, async () => {
    const again = await startVerified(rt, base, settings, key, image.id, staged);
    if (again.started) return { started: again.started, outcome: { key, source: 'snapshot' } as InitSnapshotOutcome };
    const bad = !again.lookup.found && again.lookup.corrupt ? again.lookup.reason : undefined;
    if (bad) sayOnce(`corrupt:${key}`, `the initialised-data snapshot of ${o.image} (${key.slice(0, 12)}) is not usable (${bad}): initialising again and replacing it`);
    return initialiseAndKeep(rt, base, o, settings, key, image, staged, signal, bad);
  });
  return untilReady(rt, made.started, o, staged, signal, { initSnapshot: made.outcome, ...(made.cleanup ? { cleanup: made.cleanup } : {}), ...hook });
}

async function imageOf(rt: Runtime, o: ResolvedHarnessOptions): Promise<ImageRecord> {
  const ref = o.image!;
  if (o.pull !== 'always') {
    try {
      return rt.inspect(ref);
    } catch {
      if (o.pull === 'never') throw new MayflyError('IMAGE_NOT_FOUND', `image ${ref} is not in the store and pull is 'never'`, { hint: `mayfly pull ${ref}` });
    }
  }
  return rt.pull(ref);
}

/** Each state path a tmpfs filled from the snapshot (keeping the size and mode asked for the path, if any). */
function seeded(base: ContainerOptions, settings: Settings, dirs: string[]): ContainerOptions {
  const tmpfs = (base.tmpfs ?? []).filter((t) => !settings.paths.includes(t.path));
  const asked = new Map((base.tmpfs ?? []).map((t) => [t.path, t]));
  return { ...base, ...settings.run, tmpfs: [...tmpfs, ...settings.paths.map((path, i) => ({ ...asked.get(path), path, from: dirs[i]! }))] };
}

/** Each state path bound to a scratch directory, which outlives the server's clean stop. */
function onScratch(base: ContainerOptions, settings: Settings, dirs: string[]): ContainerOptions {
  return {
    ...base,
    tmpfs: (base.tmpfs ?? []).filter((t) => !settings.paths.includes(t.path)),
    binds: [...(base.binds ?? []), ...settings.paths.map((target, i) => ({ source: dirs[i]!, target, readonly: false }))],
  };
}

type Lookup = Awaited<ReturnType<Runtime['snapshots']['lookup']>>;

/**
 * Starts from the snapshot if there is one made by this image. Its files are checked against its
 * manifest once the container runs (`verified`): the check (an lstat of each of ~1000 files) then
 * runs beside the server's own start instead of competing with the container's set-up, and a
 * container on a snapshot that fails it is removed before anyone sees it. The store lock keeps a
 * prune away until the container's state names the snapshot (from then on a prune spares it).
 */
async function startFromSnapshot(rt: Runtime, base: ContainerOptions, settings: Settings, key: string, imageId: string, staged: Staged): Promise<{ started?: Container; verified?: Promise<Verdict>; lookup: Lookup }> {
  return rt.snapshots.inUse(async () => {
    const lookup = await rt.snapshots.lookup(key, imageId);
    if (!lookup.found) return { lookup };
    const started = await createAndStart(rt, seeded(base, settings, lookup.dirs), staged);
    const verified = rt.snapshots.verify(key).then(
      (v): Verdict => v,
      (e: unknown): Verdict => ({ ok: false, error: e }),
    );
    return { started, verified, lookup };
  });
}

type Verdict = { ok: true } | { ok: false; reason: string } | { ok: false; error: unknown };

/** A corrupt snapshot's lookup; a check that could not run at all is thrown. */
function failedCheck(v: Exclude<Verdict, { ok: true }>): Lookup {
  if ('error' in v) throw v.error;
  return { found: false, corrupt: true, reason: v.reason };
}

/** The start from the snapshot with its check awaited (the paths that hold the key's lock, where a few ms do not matter). */
async function startVerified(rt: Runtime, base: ContainerOptions, settings: Settings, key: string, imageId: string, staged: Staged): Promise<{ started?: Container; lookup: Lookup }> {
  const from = await startFromSnapshot(rt, base, settings, key, imageId, staged);
  if (!from.started) return { lookup: from.lookup };
  const v = await from.verified!;
  if (v.ok) return { started: from.started, lookup: from.lookup };
  await from.started.remove({ force: true }).catch(() => {});
  return { lookup: failedCheck(v) };
}

/**
 * The readiness wait and the snapshot's check side by side: both must pass before the container is
 * handed over. A failed check aborts the wait, removes the container and answers undefined (the
 * caller then rebuilds the snapshot, whose own start sees the corruption again and says why); a
 * caller's `onRunning` hook is called only after the check, as it would see the container.
 */
async function readyIfVerified(
  rt: Runtime,
  c: Container,
  verified: Promise<Verdict>,
  o: ResolvedHarnessOptions,
  staged: Staged,
  signal: AbortSignal | undefined,
  extra: Parameters<typeof untilReady>[5],
): Promise<StartedContainer | undefined> {
  const discard = async (v: Exclude<Verdict, { ok: true }>) => {
    await c.remove({ force: true }).catch(() => {});
    failedCheck(v);
    return undefined;
  };
  if (extra?.onRunning) {
    const v = await verified;
    if (!v.ok) return discard(v);
    return untilReady(rt, c, o, staged, signal, extra);
  }
  const stop = new AbortController();
  const ready = untilReady(rt, c, o, staged, signal ? AbortSignal.any([signal, stop.signal]) : stop.signal, extra).then(
    (started) => ({ started }),
    (error: unknown) => ({ error }),
  );
  const v = await verified;
  if (!v.ok) {
    stop.abort(new Error('the snapshot failed its check'));
    await ready;
    return discard(v);
  }
  const r = await ready;
  if ('error' in r) throw r.error;
  return r.started;
}

interface Made {
  started: Container;
  outcome: InitSnapshotOutcome;
  /** releases the scratch state when the container is removed (when it runs on it) */
  cleanup?: () => Promise<void>;
}

async function initialiseAndKeep(
  rt: Runtime,
  base: ContainerOptions,
  o: ResolvedHarnessOptions,
  settings: Settings,
  key: string,
  image: ImageRecord,
  staged: Staged,
  signal: AbortSignal | undefined,
  replaced: string | undefined,
): Promise<Made> {
  const modes = settings.paths.map((p) => (base.tmpfs ?? []).find((t) => t.path === p)?.mode);
  const scratch = await rt.snapshots.scratch(modes);
  const discard = () => rt.snapshots.discardScratch(scratch.id);
  let c: Container | undefined;
  try {
    c = await createAndStart(rt, onScratch(base, settings, scratch.dirs), staged);
    await waitReady(rt, c, o, signal);
    await runInitialise(c, o, staged);
    const stop = await quiesce(c, settings, o.stopTimeout);
    let reason = stop.clean ? undefined : `the server did not stop cleanly for the snapshot (${stop.why})`;
    if (stop.clean) {
      const commit = await rt.snapshots.commit({ key, imageId: image.id, image: o.image!, paths: settings.paths, scratchId: scratch.id });
      if (commit.ok) {
        await c.remove({ force: true });
        c = undefined;
        await discard();
        const from = await startVerified(rt, base, settings, key, image.id, staged);
        if (from.started) return { started: from.started, outcome: { key, source: 'initialised', kept: true, ...(replaced ? { reason: replaced } : {}) } };
        reason = `the snapshot just made is not usable (${from.lookup.found ? '' : from.lookup.reason})`;
        const again = await initialiseOnlyLocked(rt, base, staged);
        await waitReady(rt, again.started, o, signal).then(() => runInitialise(again.started, o, staged)).catch(async (e: unknown) => {
          await again.started.remove({ force: true }).catch(() => {});
          throw e;
        });
        return { ...again, outcome: { key, source: 'initialised', kept: false, reason } };
      }
      reason = `keeping the snapshot failed: ${commit.reason}`;
      if (commit.code === 'ENOSPC') failedKeys.set(key, reason);
    }
    sayOnce(`unkept:${stop.clean ? 'commit' : 'quiesce'}`, `no initialised-data snapshot of ${o.image} was kept: ${reason}; this container runs on the state it initialised, and its next start initialises again`);
    // the state it initialised is on the scratch tmpfs, bound in: start the server again on it
    await c.start();
    return { started: c, outcome: { key, source: 'initialised', kept: false, reason: reason! }, cleanup: discard };
  } catch (e) {
    if (c) await c.remove({ force: true }).catch(() => {});
    await discard().catch(() => {});
    throw e;
  }
}

/** The snapshot vanished between commit and use (a prune in between): initialise once more, keep nothing. */
async function initialiseOnlyLocked(rt: Runtime, base: ContainerOptions, staged: Staged): Promise<{ started: Container }> {
  return { started: await createAndStart(rt, base, staged) };
}

/** A key this process could not keep: the plain start, on the tmpfs asked for. */
async function initialiseOnly(rt: Runtime, base: ContainerOptions, o: ResolvedHarnessOptions, staged: Staged, signal: AbortSignal | undefined, outcome: InitSnapshotOutcome, onRunning?: OnRunning): Promise<StartedContainer> {
  const c = await createAndStart(rt, base, staged);
  return untilReady(rt, c, o, staged, signal, { initSnapshot: outcome, initialise: true, ...(onRunning ? { onRunning } : {}) });
}


/**
 * Stops the ready server so that its files are complete: the quiesce command (the server should
 * exit because of it), else the stop signal. Clean means it exited 0 in time; anything else
 * (killed, crashed, a timeout) means its files cannot be trusted as a snapshot.
 */
async function quiesce(c: Container, settings: Settings, stopTimeout: number): Promise<{ clean: boolean; why?: string }> {
  const q = settings.quiesce;
  let status: { exitCode: number } | undefined;
  if (q.command) {
    const exited = c.wait();
    // the server may exit (and take the exec with it) before the command returns
    await c.exec(q.command).catch(() => undefined);
    status = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), q.timeout * 1000).unref())]);
    if (!status) {
      await c.stop({ timeout: 0 });
      return { clean: false, why: `it was still running ${q.timeout} s after ${q.command.join(' ')}` };
    }
  } else {
    status = await c.stop({ ...(q.signal ? { signal: q.signal } : {}), timeout: Math.max(q.timeout, stopTimeout) });
  }
  if (status.exitCode === 0) return { clean: true };
  return { clean: false, why: status.exitCode === 137 ? 'it was killed (exit 137)' : `it exited ${status.exitCode}` };
}
