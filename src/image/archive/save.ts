/**
 * `mayfly save`: images in the store → one OCI image layout tar (oci-layout, index.json naming
 * each image, blobs/sha256/…), with the manifests as they were pulled, so that a registry-less
 * machine (an air-gapped CI runner) gets the very same images with `mayfly load`. Docker, podman
 * and skopeo read it too (`oci-archive:`).
 */
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { c as tarCreate } from 'tar';
import { MayflyError } from '../../core/errors.js';
import { formatReference, parseReference } from '../reference.js';
import { MediaType, type IndexEntry } from '../registry/index.js';
import type { ImageStore } from '../store/image-store.js';
import { storedManifest } from '../store/stored-manifest.js';
import { notInStore } from '../store/tag.js';
import { CONTAINERD_NAME, OCI_LAYOUT, OCI_LAYOUT_FILE, REF_NAME } from './oci-layout.js';

export interface SavedImage {
  /** the normalized name it is saved under; none when saved by ID */
  name?: string;
  manifestDigest: string;
}

export async function saveImages(store: ImageStore, refs: string[], file: string): Promise<SavedImage[]> {
  if (!refs.length) throw new MayflyError('INVALID_OPTION', 'save needs at least one image');
  const images = refs.map((ref) => {
    const record = store.find(ref);
    if (!record) throw notInStore(ref);
    return { ref, record, manifest: storedManifest(store, record), name: nameOf(ref, record.names) };
  });
  store.ensureDirs();
  const tmp = join(store.home, 'tmp');
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(tmp, 'save-'));
  const target = resolve(file);
  const partial = `${target}.${process.pid}.partial`;
  try {
    const blobs = join(staging, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const entries: IndexEntry[] = [];
    for (const { ref, record, manifest, name } of images) {
      writeFileSync(join(blobs, hex(manifest.digest)), manifest.raw);
      for (const d of [manifest.manifest.config, ...manifest.manifest.layers]) {
        const dest = join(blobs, hex(d.digest));
        if (existsSync(dest)) continue;
        const source = store.blobPath(d.digest);
        if (!existsSync(source)) {
          throw new MayflyError('IMAGE_NOT_FOUND', `cannot save ${ref}: its blob ${d.digest} is not in the store`, {
            hint: `pull ${record.names[0] ?? ref} again, then save`,
            details: { image: record.id, blob: d.digest },
          });
        }
        linkOrCopy(source, dest);
      }
      entries.push({
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.raw.length,
        ...(name ? { annotations: { [REF_NAME]: name, [CONTAINERD_NAME]: name } } : {}),
      });
    }
    writeFileSync(join(staging, OCI_LAYOUT_FILE), JSON.stringify(OCI_LAYOUT));
    writeFileSync(join(staging, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: entries }));
    mkdirSync(dirname(target), { recursive: true });
    await tarCreate({ file: partial, cwd: staging, portable: true, mtime: new Date(0) }, [OCI_LAYOUT_FILE, 'index.json', 'blobs']);
    renameSync(partial, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
  return images.map(({ name, manifest }) => ({ ...(name ? { name } : {}), manifestDigest: manifest.digest }));
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

/** The name a reference gives the image in the archive: itself, unless it is an image ID. */
function nameOf(ref: string, names: string[]): string | undefined {
  try {
    const name = formatReference(parseReference(ref));
    return names.includes(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** A hard link costs nothing; across file systems (or where links are refused) a copy. */
function linkOrCopy(source: string, dest: string): void {
  try {
    linkSync(source, dest);
  } catch {
    copyFileSync(source, dest);
  }
}
