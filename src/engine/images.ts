/**
 * The image verbs (pull, commit, import, tag, rmi, prune, push, save, load) over one store.
 * Work that writes files owned by the image's users goes through the sandbox (inside the user
 * namespace); reads are plain file reads.
 */
import { basename } from 'node:path';
import { MayflyError } from '../core/errors.js';
import type { SandboxClient } from '../runtime/sandbox-client.js';
import type { Container } from '../runtime/container.js';
import type { PullProgress } from '../image/progress.js';
import type { RegistryCredentials } from '../image/credentials.js';
import { writeImage } from '../image/store/image-writer.js';
import type { ImageConfigFile } from '../image/store/image-config.js';
import { ImageStore, type ImageRecord } from '../image/store/image-store.js';
import { mayflyHome } from '../core/paths.js';
import { importArchive } from '../image/archive/import-archive.js';
import { saveImages, type SavedImage } from '../image/archive/save.js';
import { pushImage, type PushProgress, type PushResult } from '../image/push.js';
import { imageHistory, inspectImage, type HistoryRow } from '../image/store/inspect.js';
import { removeImage, type RemoveImageResult } from '../image/store/remove-image.js';
import { withStoreLock } from '../image/store/store-lock.js';
import { tagImage } from '../image/store/tag.js';
import { unreferencedContent } from '../image/store/unreferenced.js';
import { checkStore, repairPlan, type RepairPlan, type StoreReport } from '../image/store/check-store.js';

export interface PullOptions {
  /** os/arch[/variant], default this host's */
  platform?: string;
  onProgress?: (p: PullProgress) => void;
  /** instead of the stored credentials (auth.json, Docker's config) */
  credentials?: RegistryCredentials;
}

/** The verbs that need no sandbox: reads of the store, names, pushes and saves. The CLI uses them without starting one. */
export class LocalImages {
  constructor(readonly store: ImageStore = new ImageStore(mayflyHome())) {}

  /** An image by name or ID, if the store has it. */
  find(ref: string): ImageRecord | undefined {
    return this.store.find(ref);
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

  /** `mayfly system check`: the store's report, read holding its lock exclusively (installs in progress finish first). */
  check(opts: { verifyBlobs?: boolean } = {}): Promise<StoreReport> {
    return withStoreLock(this.store, 'exclusive', async () => checkStore(this.store, opts));
  }

  /** The image config's history, newest first, each step with the size of the layer it made. */
  history(ref: string): HistoryRow[] {
    return imageHistory(this.store, ref);
  }

  /** Pushes an image to the registry its name names, byte for byte as it was pulled. */
  push(ref: string, opts: { onProgress?: (p: PushProgress) => void; compression?: 'gzip' | 'zstd'; credentials?: RegistryCredentials } = {}): Promise<PushResult> {
    return pushImage(this.store, ref, opts);
  }

  /** Writes images to an OCI image layout tar (`docker save`), for `load` on another machine. */
  save(refs: string | string[], file: string): Promise<SavedImage[]> {
    return saveImages(this.store, typeof refs === 'string' ? [refs] : refs, file);
  }
}

/** The rest: work that writes files owned by the image's users happens in the sandbox. */
export class ImageService extends LocalImages {
  private nextPull = 1;

  constructor(
    private readonly sandbox: SandboxClient,
    store: ImageStore,
  ) {
    super(store);
  }

  /** Pulls an image into the store (layers shared with every image that has them). */
  async pull(ref: string, opts: PullOptions = {}): Promise<ImageRecord> {
    const pullId = this.nextPull++;
    const listener = (e: { pullId: number; progress: PullProgress }) => {
      if (e.pullId === pullId) opts.onProgress?.(e.progress);
    };
    this.sandbox.on('pull-progress', listener);
    try {
      return await this.sandbox.request('pull', { ref, pullId, ...(opts.platform ? { platform: opts.platform } : {}), ...(opts.credentials ? { credentials: opts.credentials } : {}) });
    } finally {
      this.sandbox.off('pull-progress', listener);
    }
  }

  /**
   * Makes an image of a container's changes on top of its image (like `docker commit`); the
   * container may be running. Its command, env, user and working dir become the image's defaults.
   */
  async commit(container: Container, name: string | undefined, changes: NonNullable<ImageConfigFile['config']> = {}, meta: { comment?: string; author?: string } = {}): Promise<ImageRecord> {
    const base = this.store.read(container.spec.labels['mayfly.image.id'] ?? '');
    if (!base) throw new MayflyError('INVALID_OPTION', `container ${container.name} was not made from an image in the store: nothing to commit onto`);
    const spec = container.spec;
    return withStoreLock(this.store, 'shared', async () => {
      const parent = base.layers[base.layers.length - 1]?.chainId;
      const layer = await this.sandbox.request('commit-container', { id: container.id, ...(parent ? { parentChainId: parent } : {}), how: 'snapshot' });
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
      const history = [...(base.config.history ?? []), { created_by: `mayfly commit ${container.name}`, ...(meta.comment ? { comment: meta.comment } : {}) }];
      return writeImage(this.store, { layers: [...base.layers, layer], config, history, created: new Date().toISOString(), ...(name ? { name } : {}), ...(meta.author ? { author: meta.author } : {}), source: 'committed' });
    });
  }

  /** Makes an image of a root filesystem directory (like `docker import`), with `/bin/sh` as its Cmd unless told otherwise. */
  async importRootfs(dir: string, name: string, config: NonNullable<ImageConfigFile['config']> = { Cmd: ['/bin/sh'] }): Promise<ImageRecord> {
    return withStoreLock(this.store, 'shared', async () => {
      const layer = await this.sandbox.request('commit-layer', { dir, how: 'copy' });
      return writeImage(this.store, { layers: [layer], config, history: [{ created_by: `mayfly import ${dir}` }], created: new Date().toISOString(), name, source: 'imported' });
    });
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

  /**
   * `mayfly system check --repair`: checks the store holding its lock exclusively, and repairs what
   * it found — broken images forgotten (pull or build them again), corrupt blobs and leftovers of
   * dead installs deleted, names set straight. Returns the report before, what was done, and the report after.
   */
  async checkAndRepair(opts: { verifyBlobs?: boolean } = {}): Promise<{ before: StoreReport; plan: RepairPlan; after: StoreReport }> {
    return withStoreLock(this.store, 'exclusive', async () => {
      const before = checkStore(this.store, opts);
      const plan = repairPlan(this.store, before);
      for (const file of plan.records) this.store.forget(basename(file, '.json'));
      for (const id of plan.forget) this.store.forget(id);
      if (plan.names.length) this.store.dropNames(plan.names);
      for (const { id, name } of plan.renames) {
        const record = this.store.read(id);
        if (record) this.store.save(record, name);
      }
      await this.removeContent(plan.paths);
      return { before, plan, after: checkStore(this.store, opts) };
    });
  }

  private async removeContent(paths: string[]): Promise<void> {
    if (paths.length) await this.sandbox.request('remove-layers', { paths });
  }



  /** Loads the images of an OCI image layout tar into the store, verified, no registry needed. */
  async load(file: string): Promise<ImageRecord[]> {
    return withStoreLock(this.store, 'shared', async () => {
      const images = await importArchive(this.store, file);
      return this.sandbox.request('load', { images, source: `archive:${basename(file)}` });
    });
  }
}
