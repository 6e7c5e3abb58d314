/**
 * The runtime's public face: create containers from a ContainerSpec and drive their lifecycle.
 * A sandbox of its own per Runtime, or (`shared`) the home's shared sandbox; either way its
 * containers end with it, or with the process that owns it.
 */
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { ImageService, type PullOptions } from './images.js';
import { buildImage, type BuildHost, type BuildOptions } from '../dockerfile/builder.js';
import { withStoreLock } from '../image/store/store-lock.js';
import type { PushProgress, PushResult } from '../image/push.js';
import type { SavedImage } from '../image/archive/save.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import { ImageStore, type ImageRecord } from '../image/store/image-store.js';
import type { HistoryRow } from '../image/store/inspect.js';
import type { RemoveImageResult } from '../image/store/remove-image.js';
import { runDefaults } from '../image/run-defaults.js';
import type { RegistryCredentials } from '../image/credentials.js';
import { parseReference } from '../image/reference.js';
import { Container, type ContainerOwner } from '../runtime/container.js';
import { SandboxClient, type SandboxInfo } from '../runtime/sandbox-client.js';
import { attachShared, sharedByDefault } from '../runtime/shared-sandbox.js';
import { layoutOf } from '../model/layout.js';
import { createVolume, listVolumes, unusedVolumes, type VolumeInfo } from '../runtime/volumes.js';
import { createNetwork, getNetwork, listNetworks, removeNetwork, type NetworkCreateOptions, type NetworkRecord } from '../network/network-store.js';
import { parseContainerSpec, type ContainerSpec, type ContainerSpecInput } from '../model/container-spec.js';
import { SnapshotService } from './snapshots.js';
import type { ContainerExtras } from '../runtime/sandbox/protocol.js';

export { Container } from '../runtime/container.js';
export { type ExitStatus } from '../model/container-types.js';
export type { PullOptions } from './images.js';

const normalTarget = (p: string) => posix.normalize(p).replace(/(.)\/$/, '$1');

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

/** How a container lives beyond its spec. */
export interface CreateOptions {
  /** kept on disk, stopped, when this runtime ends, until removed (a Docker-style container; the keeper's) */
  persistent?: boolean;
  /** removed as soon as it exits (`--rm`) */
  autoRemove?: boolean;
}

export interface RuntimeOptions {
  /** where containers, volumes and caches live; default `$MAYFLY_HOME` or ~/.cache/mayfly */
  home?: string;
  /** called with each warning once (limits not enforced, slow rootfs driver, ...) */
  onWarning?: (message: string) => void;
  /**
   * use the home's shared sandbox (one process for every Runtime of the home with the same
   * settings; this Runtime's containers still go when it closes or its process dies); default
   * MAYFLY_SHARED_SANDBOX=1
   */
  shared?: boolean;
}

export class Runtime implements ContainerOwner {
  private readonly containers = new Map<string, Container>();
  private readonly warned = new Set<string>();
  private readonly store: ImageStore;
  private readonly image: ImageService;
  /** initialised-data snapshots (the harness's `initSnapshot`) */
  readonly snapshots: SnapshotService;

  private constructor(
    readonly sandbox: SandboxClient,
    private readonly onWarning: (message: string) => void,
  ) {
    this.store = new ImageStore(sandbox.home);
    this.image = new ImageService(sandbox, this.store);
    this.snapshots = new SnapshotService(sandbox);
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
    const where = opts.home ? { home: opts.home } : {};
    const sandbox = (opts.shared ?? sharedByDefault()) ? await attachShared(where) : await SandboxClient.boot(where);
    return new Runtime(sandbox, opts.onWarning ?? ((m) => process.emitWarning(m, { code: 'MAYFLY' })));
  }

  get info(): SandboxInfo {
    return this.sandbox.info;
  }

  /** Pulls an image into the store (layers shared with every image that has them). */
  pull(ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
    return this.image.pull(ref, opts);
  }

  /**
   * Builds a Dockerfile into the store (multi-stage, BuildKit's semantics), with a layer cache.
   * `credentials`: for the FROM images' registries, instead of the stored ones (a Docker API client's X-Registry-Config).
   */
  build(opts: BuildOptions, pulls: { credentials?: (registry: string) => RegistryCredentials | undefined } = {}): Promise<ImageRecord> {
    // shared: a prune in another process waits until the new layers have a record naming them
    return withStoreLock(this.store, 'shared', () => buildImage(this.buildHost(pulls.credentials), opts));
  }

  /** What the builder may use of the engine (src/dockerfile/build-host.ts). */
  private buildHost(credentialsFor?: (registry: string) => RegistryCredentials | undefined): BuildHost {
    const sandbox = this.sandbox;
    return {
      home: sandbox.home,
      store: this.store,
      scratchDir: join(sandbox.info.runDir, 'staging'),
      pull: (ref) => {
        const credentials = credentialsFor?.(parseReference(ref).registry);
        return this.pull(ref, credentials ? { credentials } : {});
      },
      runContainer: async (spec, o) => {
        const c = await this.create(spec);
        const stop = () => void c.remove({ force: true }).catch(() => {});
        o.signal?.addEventListener('abort', stop, { once: true });
        try {
          await c.start({ ...(o.onOutput ? { onOutput: o.onOutput } : {}) });
          const { exitCode } = await c.wait();
          return {
            exitCode,
            commit: (x) => sandbox.request('commit-container', { id: c.id, how: 'move', ...x }),
            remove: () => c.remove({ force: true }),
          };
        } catch (e) {
          await c.remove({ force: true }).catch(() => {});
          throw e;
        } finally {
          o.signal?.removeEventListener('abort', stop);
        }
      },
      commitLayer: (o) => sandbox.request('commit-layer', { ...o, how: 'move' }),
      stageCopy: (plan) => sandbox.request('stage-copy', { plan }),
      listLayers: (layers, dir) => sandbox.request('list-layers', { layers, dir }),
      preparePath: async (o) => {
        await sandbox.request('prepare-path', o);
      },
      removeStaged: async (dir) => {
        await sandbox.request('remove-staged', { dir });
      },
    };
  }

  /** `docker commit`: the container's changes on top of its image, as a new image. */
  commit(container: Container, name: string | undefined, changes: NonNullable<ImageConfigFile['config']> = {}, meta: { comment?: string; author?: string } = {}): Promise<ImageRecord> {
    return this.image.commit(container, name, changes, meta);
  }

  /** `docker import`: an image of a root filesystem directory. */
  importRootfs(dir: string, name: string, config?: NonNullable<ImageConfigFile['config']>): Promise<ImageRecord> {
    return this.image.importRootfs(dir, name, config);
  }

  images(): ImageRecord[] {
    return this.image.images();
  }

  tag(source: string, target: string): ImageRecord {
    return this.image.tag(source, target);
  }

  inspect(ref: string): ImageRecord {
    return this.image.inspect(ref);
  }

  history(ref: string): HistoryRow[] {
    return this.image.history(ref);
  }

  rmi(ref: string, opts: { force?: boolean } = {}): Promise<RemoveImageResult> {
    return this.image.rmi(ref, opts);
  }

  /** Deletes the layers and blobs no image and no live container uses, and every initialised-data snapshot. */
  async prune(): Promise<{ layers: string[]; blobs: string[]; snapshots: string[] }> {
    const { layers, blobs } = await this.image.prune();
    return { layers, blobs, snapshots: await this.snapshots.prune() };
  }

  /** `mayfly system check --repair`: the store checked (digests, references, leftovers) and set straight. */
  checkStore(opts: { verifyBlobs?: boolean } = {}): ReturnType<ImageService['checkAndRepair']> {
    return this.image.checkAndRepair(opts);
  }

  push(ref: string, opts: Parameters<ImageService['push']>[1] = {}): Promise<PushResult> {
    return this.image.push(ref, opts);
  }

  save(refs: string | string[], file: string): Promise<SavedImage[]> {
    return this.image.save(refs, file);
  }

  load(file: string): Promise<ImageRecord[]> {
    return this.image.load(file);
  }

  /** Creates a user-defined network (`docker network create`): its containers reach each other by name and alias. */
  createNetwork(nameOrOptions: string | (NetworkCreateOptions & { ephemeral?: boolean })): NetworkRecord {
    const { ephemeral, ...opts } = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
    // an ephemeral network goes with this runtime, however it ends
    return createNetwork(layoutOf(this.sandbox.home), opts, ephemeral ? this.sandbox.id : undefined);
  }

  networks(): NetworkRecord[] {
    return listNetworks(layoutOf(this.sandbox.home));
  }

  inspectNetwork(name: string): NetworkRecord {
    return getNetwork(layoutOf(this.sandbox.home), name);
  }

  /** Refused while a live container is attached, unless `force`. */
  removeNetwork(name: string, opts: { force?: boolean } = {}): NetworkRecord {
    return removeNetwork(layoutOf(this.sandbox.home), name, opts);
  }

  /** Named volumes (`-v name:/path`) of this home, with the live containers using them. */
  volumes(): VolumeInfo[] {
    return listVolumes(layoutOf(this.sandbox.home));
  }

  createVolume(name: string, labels: Record<string, string> = {}): VolumeInfo {
    return createVolume(layoutOf(this.sandbox.home), name, labels);
  }

  /** Deletes volumes and their data; refused while a live container uses one, unless `force`. */
  async removeVolumes(names: string[], opts: { force?: boolean } = {}): Promise<string[]> {
    return (await this.sandbox.request('remove-volumes', { names, force: opts.force ?? false })).removed;
  }

  /** Deletes every volume no live container uses. */
  async pruneVolumes(): Promise<string[]> {
    const names = unusedVolumes(layoutOf(this.sandbox.home));
    return names.length ? this.removeVolumes(names) : [];
  }

  /** Validates the options (every wrong field is named), pulls the image if needed, and prepares the container without starting it. */
  async create(input: ContainerOptions, opts: CreateOptions = {}): Promise<Container> {
    const { spec, id, name, extras } = await this.newContainer(input, opts);
    const { dir, warnings } = await this.sandbox.request('create', { id, name, spec, extras });
    this.warn(warnings);
    const c = new Container(this, id, name, spec, dir);
    this.containers.set(id, c);
    return c;
  }

  private async newContainer(input: ContainerOptions, opts: CreateOptions = {}): Promise<{ spec: ContainerSpec; id: string; name: string; extras: ContainerExtras }> {
    const { spec, entrypoint, cmd } = input.image ? await this.specFromImage(input) : { spec: parseContainerSpec(input as ContainerSpecInput), entrypoint: undefined, cmd: undefined };
    const id = randomBytes(32).toString('hex');
    const extras: ContainerExtras = {
      ...(opts.persistent ? { persistent: true } : {}),
      ...(opts.autoRemove ? { autoRemove: true } : {}),
      ...(entrypoint ? { entrypoint } : {}),
      ...(cmd ? { cmd } : {}),
    };
    return { spec, id, name: spec.name ?? `mayfly-${id.slice(0, 12)}`, extras };
  }

  /** Takes over a persistent container whose runtime ended (it is stopped): for start, remove or commit. */
  async adopt(id: string): Promise<Container> {
    const a = await this.sandbox.request('adopt', { id });
    const c = new Container(this, id, a.name, a.spec, a.dir);
    if (a.status === 'exited') c._exited({ exitCode: a.exitCode ?? 137, oomKilled: false });
    this.containers.set(id, c);
    return c;
  }

  private async specFromImage(input: ContainerOptions): Promise<{ spec: ContainerSpec; entrypoint: string[]; cmd: string[] }> {
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
    // the image's VOLUMEs that no tmpfs, bind or named volume of the caller covers, as Docker does
    const mounted = new Set([...(rest.tmpfs ?? []).map((t) => t.path), ...(rest.binds ?? []).map((b) => b.target), ...(rest.volumes ?? []).map((v) => v.target)].map(normalTarget));
    const anonymousVolumes = [...new Set([...Object.keys(record.config.config?.Volumes ?? {}).map(normalTarget), ...(rest.anonymousVolumes ?? [])])].filter((t) => !mounted.has(t));
    const spec = parseContainerSpec({
      ...rest,
      anonymousVolumes,
      exposedPorts: [...new Set([...d.exposedPorts.filter((p) => p.protocol === 'tcp').map((p) => p.port), ...(rest.exposedPorts ?? [])])],
      layers: [...record.layers.map((l) => this.store.layerPath(l.chainId)), ...layers],
      command: d.command,
      env: d.env,
      user: d.user,
      workingDir: d.workingDir,
      ...(d.stopSignal ? { stopSignal: d.stopSignal } : {}),
      // the harness creates by ID what it resolved by name, and keeps the name for listings
      labels: { ...d.labels, 'mayfly.image': rest.labels?.['mayfly.image'] ?? ref, 'mayfly.image.id': record.id },
    });
    return { spec, entrypoint: d.entrypoint, cmd: d.cmd };
  }

  /** create + start, in one request to the sandbox */
  async run(input: ContainerOptions, opts: { attach?: boolean } = {}): Promise<Container> {
    const { spec, id, name, extras } = await this.newContainer(input);
    // known before the request goes: a quick program's exit event can come before the reply
    const c = new Container(this, id, name, spec, join(layoutOf(this.sandbox.home).containers, id));
    this.containers.set(id, c);
    try {
      await c._startWith(async (attach) => {
        const { warnings, started } = await this.sandbox.request('create', { id, name, spec, extras, start: { attach } });
        this.warn(warnings);
        return started!;
      }, opts);
    } catch (e) {
      // the sandbox removed it again; this forgets it here
      await c.remove({ force: true }).catch(() => {});
      throw e;
    }
    return c;
  }

  /** Removes every container of this runtime and stops its sandbox (a shared one: leaves it). */
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
