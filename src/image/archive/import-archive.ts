/**
 * `mayfly load`, the owner's part: an OCI image layout tar → verified blobs in the store, and the
 * list of images (manifest digest, names) for the sandbox to install. The archive is treated as
 * hostile: only `oci-layout`, `index.json` and `blobs/sha256/<hex>` regular files are unpacked, an
 * absolute path, a `..` or a link anywhere refuses the whole archive, and every blob an image
 * needs is checked against its digest before it enters the store.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { x as tarExtract } from 'tar';
import { MayflyError } from '../../core/errors.js';
import { parseIndexDocument, parseManifestDocument } from '../registry/documents.js';
import { formatReference, parseReference } from '../reference.js';
import {
  hostPlatform,
  isIndexMediaType,
  isManifestMediaType,
  selectManifest,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../registry/index.js';
import type { ImageStore } from '../store/image-store.js';
import { BLOB_PATH, CONTAINERD_NAME, REF_NAME } from './oci-layout.js';

export interface ArchiveImage {
  manifestDigest: string;
  manifestMediaType: string;
  /** normalized names from the index's annotations (none: an untagged image) */
  names: string[];
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

function invalid(file: string, problem: string): MayflyError {
  return new MayflyError('ARCHIVE_INVALID', `${file}: ${problem}`, {
    hint: 'load takes an OCI image layout tar, as `mayfly save`, `podman save --format oci-archive` or `docker save` (25+) write',
    details: { file },
  });
}

/** Why an entry makes the archive hostile, or undefined when it is harmless. */
export function hostileEntry(path: string, type: string): string | undefined {
  if (path.startsWith('/')) return `absolute path ${path}`;
  if (path.split('/').includes('..')) return `path ${path} climbs out with ..`;
  if (!FILE_TYPES.has(type) && type !== 'Directory') return `${path} is a ${type}, not a file or directory`;
  return undefined;
}

/** Whether an entry is part of the layout mayfly reads (the rest, e.g. Docker's manifest.json, is skipped). */
export function layoutEntry(path: string, type: string): boolean {
  const name = path.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (type === 'Directory') return name === '' || name === 'blobs' || name === 'blobs/sha256';
  return FILE_TYPES.has(type) && (name === 'oci-layout' || name === 'index.json' || BLOB_PATH.test(name));
}

export async function importArchive(store: ImageStore, file: string): Promise<ArchiveImage[]> {
  if (!existsSync(file)) throw new MayflyError('INVALID_OPTION', `${file} does not exist`);
  store.ensureDirs();
  const tmp = join(store.home, 'tmp');
  mkdirSync(tmp, { recursive: true, mode: 0o700 });
  const staging = mkdtempSync(join(tmp, 'load-'));
  try {
    const hostile: string[] = [];
    try {
      await tarExtract({
        file,
        cwd: staging,
        preserveOwner: false,
        strict: true,
        filter: (path, entry) => {
          const type = 'type' in entry ? String(entry.type) : 'File';
          const why = hostileEntry(path, type);
          if (why) hostile.push(why);
          return !why && layoutEntry(path, type);
        },
      });
    } catch (e) {
      if (hostile.length) throw invalid(file, `refused: ${hostile[0]}`);
      throw invalid(file, `not a readable tar archive (${(e as Error).message})`);
    }
    if (hostile.length) throw invalid(file, `refused: ${hostile[0]}${hostile.length > 1 ? ` (and ${hostile.length - 1} more)` : ''}`);
    const indexPath = join(staging, 'index.json');
    if (!existsSync(indexPath)) throw invalid(file, 'there is no index.json: not an OCI image layout');
    const index = parseIndexDocument(parseJson<unknown>(readFileSync(indexPath), file, 'index.json'), `${file}: index.json`);
    const blob = (digest: string) => join(staging, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
    const verified = new Set<string>();
    const verify = async (d: Descriptor): Promise<void> => {
      if (verified.has(d.digest)) return;
      if (!/^sha256:[0-9a-f]{64}$/.test(d.digest)) throw invalid(file, `unsupported digest ${d.digest}`);
      const path = blob(d.digest);
      if (!existsSync(path)) throw invalid(file, `blob ${d.digest} is missing`);
      const hash = createHash('sha256');
      await pipeline(createReadStream(path), hash);
      const actual = `sha256:${hash.digest('hex')}`;
      const size = statSync(path).size;
      if (actual !== d.digest || size !== d.size) {
        throw new MayflyError('DIGEST_MISMATCH', `${file}: blob ${d.digest} holds content with digest ${actual} (${size} bytes, ${d.size} expected)`, {
          hint: 'the archive is corrupt or was altered: save it again',
        });
      }
      verified.add(d.digest);
    };
    const images: ArchiveImage[] = [];
    for (const entry of index.manifests ?? []) {
      let chosen: Descriptor = entry;
      if (isIndexMediaType(entry.mediaType)) {
        await verify(entry);
        const nested = parseIndexDocument(parseJson<unknown>(readFileSync(blob(entry.digest)), file, entry.digest), `${file} (${entry.digest})`);
        chosen = selectManifest(nested, hostPlatform(), `${file} (${entry.digest})`);
      }
      if (!isManifestMediaType(chosen.mediaType)) continue; // not an image (an artifact, a signature)
      await verify(chosen);
      const manifest = parseManifestDocument(parseJson<unknown>(readFileSync(blob(chosen.digest)), file, chosen.digest), `${file} (${chosen.digest})`);
      for (const d of [manifest.config, ...manifest.layers]) await verify(d);
      const name = imageName(entry.annotations ?? {});
      const known = images.find((i) => i.manifestDigest === chosen.digest);
      if (known) {
        if (name && !known.names.includes(name)) known.names.push(name);
        continue;
      }
      images.push({ manifestDigest: chosen.digest, manifestMediaType: chosen.mediaType, names: name ? [name] : [] });
    }
    if (!images.length) throw invalid(file, 'index.json names no image manifest');
    // verified blobs move into the store (rename: the staging dir is on the same file system)
    for (const digest of verified) {
      const dest = store.blobPath(digest);
      if (!existsSync(dest)) renameSync(blob(digest), dest);
    }
    return images;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** A full reference from the annotations; a bare tag (`1.0`, as some tools write) names nothing. */
function imageName(annotations: Record<string, string>): string | undefined {
  for (const key of [CONTAINERD_NAME, REF_NAME]) {
    const value = annotations[key];
    if (!value || !/[/:]/.test(value)) continue;
    try {
      return formatReference(parseReference(value));
    } catch {
      // not a reference: try the next annotation
    }
  }
  return undefined;
}

function parseJson<T>(bytes: Buffer, file: string, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (e) {
    throw invalid(file, `${what} is not valid JSON (${(e as Error).message})`);
  }
}
