/**
 * The runtime's public face: create containers from a ContainerSpec and drive their lifecycle.
 * One sandbox per Runtime; containers end with it, or with the process that owns it.
 */
import { randomBytes } from 'node:crypto';
import { basename, join } from 'node:path';
import { isMayflyError, MayflyError } from '../errors.js';
import { readLogs, type LogEntry, type ReadLogsOptions } from './logs.js';
import { SandboxClient, type SandboxInfo } from './sandbox-client.js';
import type { ContainerStats, ExecResult } from './sandbox/protocol.js';
import type { PublishedPort } from '../network/port-forwarder.js';
import { parseContainerSpec, type ContainerSpec, type ContainerSpecInput } from './spec.js';
import type { PullProgress } from '../image/pull.js';
import { runDefaults } from '../image/run-defaults.js';
import { buildImage, type BuildOptions } from '../image/build/builder.js';
import { writeImage } from '../image/build/image-writer.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import { ImageStore, type ImageRecord } from '../image/store/image-store.js';
import { importArchive } from '../image/archive/import-archive.js';
import { saveImages, type SavedImage } from '../image/archive/save.js';
import { pushImage, type PushProgress, type PushResult } from '../image/push.js';
import { imageHistory, inspectImage, type HistoryRow } from '../image/store/inspect.js';
import { removeImage, type RemoveImageResult } from '../image/store/remove-image.js';
import { withStoreLock } from '../image/store/store-lock.js';
import { tagImage } from '../image/store/tag.js';
import { unreferencedContent } from '../image/store/unreferenced.js';

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
}

/** A container from an image (and optionally extra layers on top), or from layers alone. */
export type ContainerOptions = Omit<ContainerSpecInput, 'layers' | 'command'> & {
  /** an image reference (`busybox`, `mongo:7`, `127.0.0.1:5000/app@sha256:…`); its config gives the defaults */
  image?: string;
  /** replaces the image's Entrypoint (and drops its Cmd), as `docker run --entrypoint` */
  entrypoint?: string[];
  /** `missing` (default): pull when not in the store; `always`; `never`: fail when not in the store */
  pull?: 'missing' | 'always' | 'never';
  /** layer directories, bottom first: the whole root filesystem, or layers on top of the image's */
  layers?: string[];
  command?: string[];
};

export interface PullOptions {
  /** os/arch[/variant], default this host's */
  platform?: string;
  onProgress?: (p: PullProgress) => void;
}

export interface RuntimeOptions {
  /** where containers, volumes and caches live; default `$MAYFLY_HOME` or ~/.cache/mayfly */
  home?: string;
  /** called with each warning once (limits not enforced, slow rootfs driver, ...) */
  onWarning?: (message: string) => void;
}

export class Runtime {
  private readonly containers = new Map<string, Container>();
  private readonly warned = new Set<string>();

  private readonly store: ImageStore;
  private nextPull = 1;

  private constructor(
    readonly sandbox: SandboxClient,
    private readonly onWarning: (message: string) => void,
  ) {
    this.store = new ImageStore(sandbox.home);
    sandbox.on('warning', (m) => this.warn([m]));
    sandbox.on('exit', (e) => this.containers.get(e.id)?._exited({ exitCode: e.exitCode, oomKilled: e.oomKilled }));
    sandbox.on('output', (e) => this.containers.get(e.id)?._output(e.stream, e.data));
    // a killed sandbox took its containers with it: nobody may wait for them forever
    sandbox.on('gone', () => {
      for (const c of this.containers.values()) c._exited({ exitCode: 137, oomKilled: false });
    });
    this.warn(sandbox.info.warnings);
  }

  static async start(opts: RuntimeOptions = {}): Promise<Runtime> {
    const sandbox = await SandboxClient.boot(opts.home ? { home: opts.home } : {});
    return new Runtime(sandbox, opts.onWarning ?? ((m) => process.emitWarning(m, { code: 'MAYFLY' })));
  }

  get info(): SandboxInfo {
    return this.sandbox.info;
  }

  /** Pulls an image into the store (layers shared with every image that has them). */
  async pull(ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
    const pullId = this.nextPull++;
    const listener = (e: { pullId: number; progress: PullProgress }) => {
      if (e.pullId === pullId) opts.onProgress?.(e.progress);
    };
    this.sandbox.on('pull-progress', listener);
    try {
      return await this.sandbox.request('pull', { ref, pullId, ...(opts.platform ? { platform: opts.platform } : {}) });
    } finally {
      this.sandbox.off('pull-progress', listener);
    }
  }

  /** Builds a Dockerfile (the subset in src/image/build/dockerfile.ts) into the store, with a layer cache. */
  build(opts: BuildOptions): Promise<ImageRecord> {
    // shared: a prune in another process waits until the new layers have a record naming them
    return withStoreLock(this.store, 'shared', () => buildImage(this, this.store, opts));
  }

  /**
   * Makes an image of a container's changes on top of its image (like `docker commit`); the
   * container may be running. Its command, env, user and working dir become the image's defaults.
   */
  async commit(container: Container, name: string, changes: NonNullable<ImageConfigFile['config']> = {}): Promise<ImageRecord> {
    const base = this.store.read(container.spec.labels['mayfly.image.id'] ?? '');
    if (!base) throw new MayflyError('INVALID_OPTION', `container ${container.name} was not made from an image in the store: nothing to commit onto`);
    const spec = container.spec;
    return withStoreLock(this.store, 'shared', async () => {
      const parent = base.layers[base.layers.length - 1]?.chainId;
      const layer = await this.sandbox.request('commit-layer', { dir: join(container.dir, 'upper'), ...(parent ? { parentChainId: parent } : {}), how: 'snapshot', runtimeMountpoints: true });
      const labels = Object.fromEntries(Object.entries(spec.labels).filter(([k]) => !k.startsWith('mayfly.')));
      const config = {
        ...base.config.config,
        Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
        Entrypoint: null,
        Cmd: spec.command,
        User: spec.user,
        WorkingDir: spec.workingDir,
        Labels: labels,
        ...changes,
      };
      const history = [...(base.config.history ?? []), { created_by: `mayfly commit ${container.name}` }];
      return writeImage(this.store, { layers: [...base.layers, layer], config, history, created: new Date().toISOString(), name, source: 'committed' });
    });
  }

  /** Makes an image of a root filesystem directory (like `docker import`), with `/bin/sh` as its Cmd unless told otherwise. */
  async importRootfs(dir: string, name: string, config: NonNullable<ImageConfigFile['config']> = { Cmd: ['/bin/sh'] }): Promise<ImageRecord> {
    return withStoreLock(this.store, 'shared', async () => {
      const layer = await this.sandbox.request('commit-layer', { dir, how: 'copy', runtimeMountpoints: false });
      return writeImage(this.store, { layers: [layer], config, history: [{ created_by: `mayfly import ${dir}` }], created: new Date().toISOString(), name, source: 'imported' });
    });
  }

  /** The images in the store, read from disk (no sandbox round trip). */
  images(): ImageRecord[] {
    return this.store.list();
  }

  /** Gives an image in the store another name (`docker tag`); the name moves if another image had it. */
  tag(source: string, target: string): ImageRecord {
    return tagImage(this.store, source, target);
  }

  /** The store's record of an image: names, layers, config, where it came from. */
  inspect(ref: string): ImageRecord {
    return inspectImage(this.store, ref);
  }

  /** The image config's history, newest first, each step with the size of the layer it made. */
  history(ref: string): HistoryRow[] {
    return imageHistory(this.store, ref);
  }

  /**
   * Removes a name; with the image's last name (or its ID) the image goes, with the layers and blobs
   * nothing else uses. Refused while a live container uses the image, unless `force`.
   */
  async rmi(ref: string, opts: { force?: boolean } = {}): Promise<RemoveImageResult> {
    return withStoreLock(this.store, 'exclusive', async () => {
      const result = removeImage(this.store, ref, opts);
      await this.removeContent([...result.content.layers, ...result.content.blobs]);
      return result;
    });
  }

  /** Deletes the layers and blobs no image and no live container uses; returns what went. */
  async prune(): Promise<{ layers: string[]; blobs: string[] }> {
    return withStoreLock(this.store, 'exclusive', async () => {
      const { layers, blobs } = unreferencedContent(this.store);
      await this.removeContent([...layers, ...blobs]);
      return { layers, blobs };
    });
  }

  private async removeContent(paths: string[]): Promise<void> {
    if (paths.length) await this.sandbox.request('remove-layers', { paths });
  }

  /** Pushes an image to the registry its name names, byte for byte as it was pulled. */
  push(ref: string, opts: { onProgress?: (p: PushProgress) => void } = {}): Promise<PushResult> {
    return pushImage(this.store, ref, opts);
  }

  /** Writes images to an OCI image layout tar (`docker save`), for `load` on another machine. */
  save(refs: string | string[], file: string): Promise<SavedImage[]> {
    return saveImages(this.store, typeof refs === 'string' ? [refs] : refs, file);
  }

  /** Loads the images of an OCI image layout tar into the store, verified, no registry needed. */
  async load(file: string): Promise<ImageRecord[]> {
    return withStoreLock(this.store, 'shared', async () => {
      const images = await importArchive(this.store, file);
      return this.sandbox.request('load', { images, source: `archive:${basename(file)}` });
    });
  }

  /** Validates the options (every wrong field is named), pulls the image if needed, and prepares the container without starting it. */
  async create(input: ContainerOptions): Promise<Container> {
    const spec = input.image ? await this.specFromImage(input) : parseContainerSpec(input as ContainerSpecInput);
    const id = randomBytes(16).toString('hex');
    const name = spec.name ?? `mayfly-${id.slice(0, 12)}`;
    const { dir, warnings } = await this.sandbox.request('create', { id, name, spec });
    this.warn(warnings);
    const c = new Container(this, id, name, spec, dir);
    this.containers.set(id, c);
    return c;
  }

  private async specFromImage(input: ContainerOptions): Promise<ContainerSpec> {
    const { image, entrypoint, pull = 'missing', layers = [], command, ...rest } = input;
    // every other field is checked before any network or disk work
    parseContainerSpec({ ...rest, layers: ['/'], command: ['-'] });
    const ref = image!;
    let record = pull === 'always' ? undefined : this.store.find(ref);
    if (!record) {
      if (pull === 'never') throw new MayflyError('IMAGE_NOT_FOUND', `image ${ref} is not in the store and pull is 'never'`, { hint: `mayfly pull ${ref}` });
      record = await this.pull(ref);
    }
    const d = runDefaults(record.config, {
      ...(command ? { command } : {}),
      ...(entrypoint ? { entrypoint } : {}),
      ...(rest.env ? { env: rest.env } : {}),
      ...(rest.user ? { user: rest.user } : {}),
      ...(rest.workingDir ? { workingDir: rest.workingDir } : {}),
      ...(rest.stopSignal ? { stopSignal: rest.stopSignal } : {}),
      ...(rest.labels ? { labels: rest.labels } : {}),
    });
    if (!d.command.length) {
      throw new MayflyError('INVALID_OPTION', `image ${ref} has no Entrypoint or Cmd: give a command`, { details: { image: ref } });
    }
    return parseContainerSpec({
      ...rest,
      exposedPorts: [...new Set([...d.exposedPorts.filter((p) => p.protocol === 'tcp').map((p) => p.port), ...(rest.exposedPorts ?? [])])],
      layers: [...record.layers.map((l) => this.store.layerPath(l.chainId)), ...layers],
      command: d.command,
      env: d.env,
      user: d.user,
      workingDir: d.workingDir,
      ...(d.stopSignal ? { stopSignal: d.stopSignal } : {}),
      labels: { ...d.labels, 'mayfly.image': ref, 'mayfly.image.id': record.id },
    });
  }

  /** create + start */
  async run(input: ContainerOptions, opts: { attach?: boolean } = {}): Promise<Container> {
    const c = await this.create(input);
    try {
      await c.start(opts);
    } catch (e) {
      await c.remove({ force: true }).catch(() => {});
      throw e;
    }
    return c;
  }

  /** Removes every container of this runtime and stops its sandbox. */
  async close(): Promise<void> {
    await this.sandbox.close(); // its 'gone' ends every pending wait()
    this.containers.clear();
  }

  /** @internal */
  _forget(id: string): void {
    this.containers.delete(id);
  }

  private warn(messages: string[]): void {
    for (const m of messages) {
      if (this.warned.has(m)) continue;
      this.warned.add(m);
      this.onWarning(m);
    }
  }
}

type OutputListener = (stream: 'stdout' | 'stderr', data: Uint8Array) => void;

export class Container {
  private state: 'created' | 'running' | 'paused' | 'exited' | 'removed' = 'created';
  private lastExit: ExitStatus | undefined;
  private exitWaiters: ((s: ExitStatus) => void)[] = [];
  private outputListener: OutputListener | undefined;
  private published: PublishedPort[] = [];

  /** @internal */
  constructor(
    private readonly runtime: Runtime,
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerSpec,
    /** the container's directory under MAYFLY_HOME (upper dir, log, state) */
    readonly dir: string,
  ) {}

  get status(): 'created' | 'running' | 'paused' | 'exited' | 'removed' {
    return this.state;
  }

  private get sandbox(): SandboxClient {
    if (this.state === 'removed') throw new MayflyError('CONTAINER_NOT_FOUND', `container ${this.name} was removed`);
    return this.runtime.sandbox;
  }

  /** Starts the container; resolves once its program runs (execve succeeded). */
  async start(opts: { attach?: boolean; onOutput?: OutputListener } = {}): Promise<void> {
    this.outputListener = opts.onOutput;
    this.lastExit = undefined;
    const { ports } = await this.sandbox.request('start', { id: this.id, attach: Boolean(opts.attach || opts.onOutput) });
    this.published = ports;
    // a quick program's exit event can overtake the reply to start
    if (this.lastExit === undefined) this.state = 'running';
  }

  /** The host address of published ports. */
  get host(): string {
    return this.published[0]?.hostIp ?? '127.0.0.1';
  }

  /** The published ports of the running container (like `docker port`). */
  ports(): PublishedPort[] {
    return [...this.published];
  }

  /** The host port a container port is published on (`getMappedPort`). */
  port(containerPort: number): number {
    const p = this.published.find((x) => x.containerPort === containerPort);
    if (!p) {
      throw new MayflyError('INVALID_OPTION', `container port ${containerPort} of ${this.name} is not published`, {
        hint: this.published.length ? `published: ${this.published.map((x) => x.containerPort).join(', ')}` : 'publish it with ports: [{ containerPort }] or publishAll',
      });
    }
    return p.hostPort;
  }

  /** `http://host:port/path` for a published container port. */
  url(containerPort: number, path = '/'): string {
    const p = this.published.find((x) => x.containerPort === containerPort);
    const host = p && p.hostIp.includes(':') ? `[${p.hostIp}]` : (p?.hostIp ?? this.host);
    return `http://${host}:${this.port(containerPort)}${path.startsWith('/') ? path : `/${path}`}`;
  }

  /** Resolves when the container's PID 1 exits, with Docker's exit code (128+n for signal n). */
  wait(): Promise<ExitStatus> {
    if (this.state !== 'running' && this.state !== 'paused') {
      if (this.lastExit) return Promise.resolve(this.lastExit);
      return Promise.reject(new MayflyError('CONTAINER_STATE', `container ${this.name} is not running`));
    }
    return this.sandbox.hold(new Promise((resolve) => this.exitWaiters.push(resolve)));
  }

  /** Sends the stop signal (SIGTERM unless the spec says otherwise), then SIGKILL after `timeout` seconds. */
  async stop(opts: { signal?: string; timeout?: number } = {}): Promise<ExitStatus> {
    if (this.state !== 'running' && this.state !== 'paused') return this.lastExit ?? { exitCode: 0, oomKilled: false };
    const exited = this.wait();
    await this.sandbox.request('stop', { id: this.id, ...opts });
    return exited;
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
    await this.sandbox.request('kill', { id: this.id, signal });
  }

  /** Freezes every process (cgroup freezer, else SIGSTOP); returns which method was used. */
  async pause(): Promise<'freezer' | 'sigstop'> {
    const { method } = await this.sandbox.request('pause', { id: this.id });
    this.state = 'paused';
    return method;
  }

  async unpause(): Promise<void> {
    await this.sandbox.request('unpause', { id: this.id });
    if (this.state === 'paused') this.state = 'running';
  }

  async restart(opts: { timeout?: number } = {}): Promise<void> {
    await this.stop(opts);
    await this.start(this.outputListener ? { onOutput: this.outputListener } : {});
  }

  /** Runs a command inside the running container (its namespaces, user, env, working dir). */
  exec(argv: string[], opts: { env?: Record<string, string>; user?: string; workingDir?: string } = {}): Promise<ExecResult> {
    if (!argv.length) return Promise.reject(new MayflyError('INVALID_OPTION', 'exec needs a command'));
    return this.sandbox.request('exec', { id: this.id, request: { argv, ...opts } });
  }

  stats(): Promise<ContainerStats> {
    return this.sandbox.request('stats', { id: this.id });
  }

  /** The container's output so far, with timestamps (kept in a JSON-lines file like Docker's). */
  logs(opts: ReadLogsOptions = {}): Promise<LogEntry[]> {
    return readLogs(join(this.dir, 'log.jsonl'), opts);
  }

  /** Removes the container: processes, mounts, cgroup, upper dir and log. */
  async remove(opts: { force?: boolean } = {}): Promise<void> {
    if (this.state === 'removed') return;
    try {
      await this.runtime.sandbox.request('remove', { id: this.id, force: opts.force ?? false });
    } catch (e) {
      // a dead sandbox took its containers with it (the next one sweeps their directories)
      if (!isMayflyError(e, 'SANDBOX_GONE')) throw e;
    }
    this.state = 'removed';
    this.runtime._forget(this.id);
    this.flushWaiters(this.lastExit ?? { exitCode: 137, oomKilled: false });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove({ force: true });
  }

  /** @internal */
  _exited(s: ExitStatus): void {
    this.lastExit = s;
    this.published = [];
    if (this.state !== 'removed') this.state = 'exited';
    this.flushWaiters(s);
  }

  /** @internal */
  _output(stream: 'stdout' | 'stderr', data: Uint8Array): void {
    this.outputListener?.(stream, data);
  }

  private flushWaiters(s: ExitStatus): void {
    for (const w of this.exitWaiters.splice(0)) w(s);
  }
}
