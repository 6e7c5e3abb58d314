/**
 * The containers a keeper holds, in its runtime: found by name, ID or ID prefix, started with their
 * output sent to whoever is attached, removed with their anonymous volumes when asked (or at exit
 * for `--rm`), described as KeptContainer (their record on disk plus what the runtime knows).
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { applyChanges, parseChanges, type ImageConfig } from '../dockerfile/commit-changes.js';
import { ImageStore, type ImageRecord } from '../image/store/image-store.js';
import type { ContainerOptions, Runtime } from '../engine/runtime.js';
import { readState } from '../model/container-state.js';
import type { Container } from '../runtime/container.js';
import { controlFrame, encodeFrame, STREAM } from './frames.js';
import type { AttachEvent, KeeperMessage, KeeperRequest, KeptContainer } from './protocol.js';

const REUSE_KEY = 'mayfly.reuse.key';
const DETACHED = 'mayfly.detached';

export const isLive = (c: Container) => c.status === 'running' || c.status === 'paused';

/** What happens to held containers, whoever asked (the CLI, compose, the Docker API): `/events` streams it. */
export type LifecycleEvent = { action: 'create' | 'start' | 'destroy'; container: Container } | { action: 'die'; container: Container; exitCode: number; oomKilled: boolean };

export class Holdings {
  private readonly observers = new Set<(e: LifecycleEvent) => void>();
  /** by container ID */
  private readonly held = new Map<string, Container>();
  /** reuse key → container ID (reused containers and `ensure`d detached ones) */
  private readonly keys = new Map<string, string>();
  /** the attach streams of each container */
  readonly attached = new Map<string, Set<Socket>>();

  constructor(
    readonly runtime: Runtime,
    /** exits are announced to every client on the line protocol */
    private readonly broadcast: (m: KeeperMessage) => void,
    /** called after every exit and removal: the keeper's idle rules */
    private readonly changed: () => void,
  ) {}

  /** Hears every create, start, exit (`die`) and removal (`destroy`); returns the way to stop listening. */
  observe(listener: (e: LifecycleEvent) => void): () => void {
    this.observers.add(listener);
    return () => this.observers.delete(listener);
  }

  private tell(e: LifecycleEvent): void {
    for (const o of this.observers) {
      try {
        o(e);
      } catch {
        // an observer's failure is its own
      }
    }
  }

  all(): Container[] {
    return [...this.held.values()];
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  track(c: Container): Container {
    if (!this.held.has(c.id)) this.tell({ action: 'create', container: c });
    this.held.set(c.id, c);
    // a container taken over from disk is found again by its key (compose's `up` after the keeper left)
    const key = c.spec.labels[REUSE_KEY];
    if (key && !this.keys.has(key)) this.keys.set(key, c.id);
    return c;
  }

  /** kept on disk until removed (the CLI's and compose's containers), not a reused one */
  persistent(c: Container): boolean {
    return readState(c.dir)?.persistent === true;
  }

  /** By ID, unique ID prefix, or name — as Docker's CLI finds containers. */
  get(ref: string): Container {
    const all = this.all();
    const exact = all.find((x) => x.name === ref || x.id === ref);
    if (exact) return exact;
    const byPrefix = all.filter((x) => x.id.startsWith(ref));
    if (byPrefix.length === 1) return byPrefix[0]!;
    throw new MayflyError('CONTAINER_NOT_FOUND', byPrefix.length > 1 ? `${ref} matches several containers: give more of the ID` : `no such container: ${ref}`, {
      hint: 'mayfly ps -a lists them',
    });
  }

  describe(c: Container, created: boolean): KeptContainer {
    const state = readState(c.dir);
    const key = [...this.keys].find(([, id]) => id === c.id)?.[0] ?? c.spec.labels[REUSE_KEY] ?? '';
    return {
      ...(state ?? { id: c.id, name: c.name, sandboxId: this.runtime.sandbox.id, createdAt: '', command: c.spec.command }),
      id: c.id,
      name: c.name,
      dir: c.dir,
      key,
      ports: c.ports(),
      networks: c.networks(),
      status: c.status,
      ...(c.spec.labels['mayfly.image.id'] ? { imageId: c.spec.labels['mayfly.image.id'] } : {}),
      created,
      stagingDir: join(this.runtime.info.runDir, 'staging'),
      detached: c.spec.labels[DETACHED] === 'true' || state?.persistent === true,
      command: c.spec.command,
      labels: c.spec.labels,
      ...(c.spec.labels['mayfly.image'] ? { image: c.spec.labels['mayfly.image'] } : {}),
      ...(c.exitStatus && c.status === 'exited' ? { exitCode: c.exitStatus.exitCode } : {}),
    };
  }

  async create(options: ContainerOptions, o: { persistent: boolean; autoRemove?: boolean; labels?: Record<string, string> }): Promise<Container> {
    return this.track(await this.runtime.create({ ...options, labels: { ...options.labels, ...o.labels } }, { persistent: o.persistent, ...(o.autoRemove ? { autoRemove: true } : {}) }));
  }

  /** A reused container by its key (started if it is not running), or a detached one made for the first time. */
  async ensure(req: Extract<KeeperRequest, { op: 'ensure' }>): Promise<KeptContainer> {
    const existingId = this.keys.get(req.key);
    const existing = existingId ? this.held.get(existingId) : undefined;
    if (existing && isLive(existing)) return this.describe(existing, false);
    if (existing) await this.remove(existing).catch(() => {});
    const c = await this.create(req.options, {
      persistent: Boolean(req.detached),
      ...(req.autoRemove ? { autoRemove: true } : {}),
      labels: { [REUSE_KEY]: req.key, ...(req.detached ? { [DETACHED]: 'true' } : {}) },
    });
    this.keys.set(req.key, c.id);
    try {
      await this.start(c);
    } catch (e) {
      await this.remove(c).catch(() => {});
      throw e;
    }
    return this.describe(c, true);
  }

  /**
   * Starts it; its output goes to whoever is attached; its exit is announced, and `--rm` honoured.
   * `onStarted` hears of the start (with where it is reached) before anyone hears of the exit: a
   * quick command may be gone, its ports and addresses with it, by the time the caller looks.
   */
  async start(c: Container, onStarted?: (reached: Pick<KeptContainer, 'ports' | 'networks'>) => void, size?: { cols: number; rows: number }): Promise<void> {
    await c.start({ onOutput: (stream, data) => this.sendOutput(c.id, stream, data), ...(size ? { size } : {}) });
    onStarted?.({ ports: c.ports(), networks: c.networks() });
    this.tell({ action: 'start', container: c });
    void c.wait().then(
      async (s) => {
        this.tell({ action: 'die', container: c, exitCode: s.exitCode, oomKilled: s.oomKilled });
        if (readState(c.dir)?.autoRemove) await this.remove(c, true).catch(() => {});
        this.broadcast({ event: 'exit', container: c.id, exitCode: s.exitCode });
        for (const sock of this.attached.get(c.id) ?? []) sock.end(controlFrame({ event: 'exit', exitCode: s.exitCode, oomKilled: s.oomKilled } satisfies AttachEvent));
        this.attached.delete(c.id);
        this.changed();
      },
      () => {},
    );
  }

  /** A container's output as it comes (the Docker API's attach), until the returned function is called. */
  observeOutput(id: string, listener: (stream: 'stdout' | 'stderr', data: Uint8Array) => void): () => void {
    const set = this.outputObservers.get(id) ?? new Set();
    this.outputObservers.set(id, set);
    set.add(listener);
    return () => {
      set.delete(listener);
      if (!set.size) this.outputObservers.delete(id);
    };
  }

  private readonly outputObservers = new Map<string, Set<(stream: 'stdout' | 'stderr', data: Uint8Array) => void>>();

  private sendOutput(id: string, stream: 'stdout' | 'stderr', data: Uint8Array): void {
    for (const o of this.outputObservers.get(id) ?? []) o(stream, data);
    const socks = this.attached.get(id);
    if (!socks?.size) return;
    const frame = encodeFrame(stream === 'stdout' ? STREAM.stdout : STREAM.stderr, data);
    for (const s of socks) if (s.writable) s.write(frame);
  }

  /** Removes a container; `volumes`: its anonymous volumes too (`rm -v`, and `--rm` as Docker does). */
  async remove(c: Container, volumes = false): Promise<void> {
    for (const [k, id] of this.keys) if (id === c.id) this.keys.delete(k);
    const held = this.held.delete(c.id);
    await c.remove({ force: true });
    if (held) this.tell({ action: 'destroy', container: c });
    const anonymous = c.spec.volumes.filter((v) => v.anonymous).map((v) => v.name);
    if (volumes && anonymous.length) await this.runtime.removeVolumes(anonymous).catch(() => {});
    this.changed();
  }

  /** `docker commit`: changes are Dockerfile instructions (dockerfile/commit-changes.ts); the container is paused meanwhile unless `pause: false`. */
  async commit(c: Container, o: { name?: string | undefined; changes?: string[] | undefined; comment?: string | undefined; author?: string | undefined; pause?: boolean | undefined }): Promise<ImageRecord> {
    const config = applyChanges(this.committedConfig(c), parseChanges(o.changes ?? []), new ImageStore(this.runtime.sandbox.home));
    const pause = o.pause !== false && c.status === 'running';
    if (pause) await c.pause();
    try {
      return await this.runtime.commit(c, o.name, config, { ...(o.comment ? { comment: o.comment } : {}), ...(o.author ? { author: o.author } : {}) });
    } finally {
      if (pause) await c.unpause().catch(() => {});
    }
  }

  /** What `commit` keeps of the container as the new image's config: its command as made, env, user, dir, ports, labels. */
  committedConfig(c: Container): ImageConfig {
    const s = readState(c.dir);
    const entrypoint = s?.entrypoint?.length ? s.entrypoint : null;
    return {
      Env: Object.entries(c.spec.env).map(([k, v]) => `${k}=${v}`),
      Entrypoint: entrypoint,
      Cmd: s?.cmd ?? (entrypoint ? null : c.spec.command),
      User: c.spec.user === '0:0' ? '' : c.spec.user,
      WorkingDir: c.spec.workingDir,
      ExposedPorts: Object.fromEntries(c.spec.exposedPorts.map((p) => [`${p}/tcp`, {}])),
      Labels: Object.fromEntries(Object.entries(c.spec.labels).filter(([k]) => !k.startsWith('mayfly.'))),
      ...(c.spec.stopSignal !== 'SIGTERM' ? { StopSignal: c.spec.stopSignal } : {}),
    };
  }
}
