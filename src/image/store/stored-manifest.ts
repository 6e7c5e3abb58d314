/**
 * An image's manifest as bytes: the one it was pulled (or built, or loaded) with, kept as a blob so
 * that push and save hand on exactly what was signed and digested. Records from before manifests
 * were kept get an OCI manifest made from the record (with another digest, necessarily).
 */
import { existsSync, readFileSync } from 'node:fs';
import { digestOf, MediaType, type ImageManifest } from '../registry/index.js';
import type { ImageRecord, ImageStore } from './image-store.js';

export interface StoredManifest {
  raw: Buffer;
  digest: string;
  mediaType: string;
  manifest: ImageManifest;
}

export function storedManifest(store: ImageStore, record: ImageRecord): StoredManifest {
  const path = store.blobPath(record.manifestDigest);
  if (existsSync(path)) {
    const raw = readFileSync(path);
    const manifest = JSON.parse(raw.toString('utf8')) as ImageManifest;
    const mediaType = record.manifestMediaType ?? manifest.mediaType ?? MediaType.OciManifest;
    return { raw, digest: record.manifestDigest, mediaType, manifest };
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: record.id, size: sizeOf(store.blobPath(record.id)) },
    layers: record.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const raw = Buffer.from(JSON.stringify(manifest));
  return { raw, digest: digestOf(raw), mediaType: MediaType.OciManifest, manifest };
}

function sizeOf(path: string): number {
  return existsSync(path) ? readFileSync(path).length : 0;
}
