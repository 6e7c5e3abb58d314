/**
 * Image-store work that must happen inside the user namespace: deleting layer directories (their
 * files may belong to subordinate ids the owner cannot touch) and installing loaded images
 * (extraction gives files the image's owners). The owner decides what to delete; the sandbox
 * checks that it is store content and nothing else.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import { installImage, storeBlobSource, type InstallOptions } from '../../image/install.js';
import type { ImageManifest } from '../../image/registry/index.js';
import type { ImageRecord, ImageStore } from '../../image/store/image-store.js';
import type { ArchiveImage } from '../../image/archive/import-archive.js';

/** A store entry: a child of layers/ or blobs/sha256/ named by digest (or a staged copy of one), or a build's or commit's work in progress. */
const STORE_ENTRY = /^(?:[0-9a-f]{64}(\.[A-Za-z0-9._-]+)?|\.(?:stage|commit)-[A-Za-z0-9._-]+)$/;

export function removeStorePaths(store: ImageStore, paths: string[]): { removed: string[] } {
  const allowed = new Set([resolve(store.layersDir), resolve(store.blobsDir)]);
  for (const p of paths) {
    if (!isAbsolute(p) || resolve(p) !== p || !allowed.has(dirname(p)) || !STORE_ENTRY.test(basename(p))) {
      throw new MayflyError('INVALID_OPTION', `remove-layers: ${p} is not a layer or blob of the store ${store.home}`);
    }
  }
  const removed: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) continue;
    rmSync(p, { recursive: true, force: true });
    removed.push(p);
  }
  return { removed };
}

/** Installs images whose blobs `importArchive` already put (verified) in the store. */
export async function loadImages(store: ImageStore, images: ArchiveImage[], source: string, opts: InstallOptions): Promise<ImageRecord[]> {
  const records: ImageRecord[] = [];
  for (const image of images) {
    const local = storeBlobSource(store);
    const raw = readFileSync(await local.file(image.manifestDigest, 0));
    const [first, ...more] = image.names;
    let record = await installImage(
      store,
      {
        what: first ?? image.manifestDigest,
        manifest: JSON.parse(raw.toString('utf8')) as ImageManifest,
        raw,
        manifestDigest: image.manifestDigest,
        manifestMediaType: image.manifestMediaType,
        source,
        ...(first ? { name: first } : {}),
      },
      local,
      opts,
    );
    for (const name of more) record = store.save(record, name);
    records.push(record);
  }
  return records;
}
