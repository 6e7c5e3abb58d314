/**
 * The runtime's public face: create containers from a ContainerSpec and drive their lifecycle.
 * One sandbox per Runtime; containers end with it, or with the process that owns it.
 */
import { randomBytes } from 'node:crypto';
import { MayflyError } from '../errors.js';
import { ImageService, type PullOptions } from '../image/image-service.js';
import type { BuildOptions } from '../image/build/builder.js';
import type { PushProgress, PushResult } from '../image/push.js';
import type { SavedImage } from '../image/archive/save.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import { ImageStore, type ImageRecord } from '../image/store/image-store.js';
import type { HistoryRow } from '../image/store/inspect.js';
import type { RemoveImageResult } from '../image/store/remove-image.js';
import { runDefaults } from '../image/run-defaults.js';
import { Container, type ContainerOwner } from './container.js';
import { SandboxClient, type SandboxInfo } from './sandbox-client.js';
import { layoutOf } from './state.js';
import { createVolume, listVolumes, unusedVolumes, type VolumeInfo } from './volumes.js';
import { createNetwork, getNetwork, listNetworks, removeNetwork, type NetworkCreateOptions, type NetworkRecord } from '../network/network-store.js';
import { parseContainerSpec, type ContainerSpec, type ContainerSpecInput } from './spec.js';

export { Container, type ExitStatus } from './container.js';
export type { PullOptions } from '../image/image-service.js';

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

export interface RuntimeOptions {
  /** where containers, volumes and caches live; default `$MAYFLY_HOME` or ~/.cache/mayfly */
  home?: string;
  /** called with each warning once (limits not enforced, slow rootfs driver, ...) */
  onWarning?: (message: string) => void;
}

export class Runtime implements ContainerOwner {
  private readonly containers = new Map<string, Container>();
  private readonly warned = new Set<string>();
  private readonly store: ImageStore;
  private readonly image: ImageService;

  private constructor(
    readonly sandbox: SandboxClient,
    private readonly onWarning: (message: string) => void,
  ) {
    this.store = new ImageStore(sandbox.home);
    this.image = new ImageService(sandbox, this.store, this);
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
  pull(ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
    return this.image.pull(ref, opts);
  }

  /** Builds a Dockerfile (the subset in src/image/build/dockerfile.ts) into the store, with a layer cache. */
  build(opts: BuildOptions): Promise<ImageRecord> {
    return this.image.build(opts);
  }

  /** `docker commit`: the container's changes on top of its image, as a new image. */
  commit(container: Container, name: string, changes: NonNullable<ImageConfigFile['config']> = {}): Promise<ImageRecord> {
    return this.image.commit(container, name, changes);
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

  prune(): Promise<{ layers: string[]; blobs: string[] }> {
    return this.image.prune();
  }

  push(ref: string, opts: { onProgress?: (p: PushProgress) => void } = {}): Promise<PushResult> {
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

  createVolume(name: string): VolumeInfo {
    return createVolume(layoutOf(this.sandbox.home), name);
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
