/**
 * The image verbs (pull, build, commit, import, tag, rmi, prune, push, save, load) over one store.
 * Work that writes files owned by the image's users goes through the sandbox (inside the user
 * namespace); reads are plain file reads.
 */
import { basename, join } from 'node:path';
import { MayflyError } from '../errors.js';
import type { SandboxClient } from '../runtime/sandbox-client.js';
import type { Container } from '../runtime/container.js';
import type { Runtime } from '../runtime/runtime.js';
import type { PullProgress } from './pull.js';
import { buildImage, type BuildOptions } from './build/builder.js';
import { writeImage } from './build/image-writer.js';
import type { ImageConfigFile } from './store/image-config.js';
import type { ImageStore, ImageRecord } from './store/image-store.js';
import { importArchive } from './archive/import-archive.js';
import { saveImages, type SavedImage } from './archive/save.js';
import { pushImage, type PushProgress, type PushResult } from './push.js';
import { imageHistory, inspectImage, type HistoryRow } from './store/inspect.js';
import { removeImage, type RemoveImageResult } from './store/remove-image.js';
import { withStoreLock } from './store/store-lock.js';
import { tagImage } from './store/tag.js';
import { unreferencedContent } from './store/unreferenced.js';

export interface PullOptions {
  /** os/arch[/variant], default this host's */
  platform?: string;
  onProgress?: (p: PullProgress) => void;
}

export class ImageService {
  private nextPull = 1;

  constructor(
    private readonly sandbox: SandboxClient,
    readonly store: ImageStore,
    /** runs the containers of RUN steps */
    private readonly runtime: Runtime,
  ) {}

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
    return withStoreLock(this.store, 'shared', () => buildImage(this.runtime, this.store, opts));
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
}
