/**
 * Writes a built or imported image into the store: its config and OCI manifest as blobs, then the
 * record under its name. The config's bytes decide the image ID, so an unchanged build (same layers,
 * same settings, same `created`) gives the same ID again.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostPlatform } from '../registry/platform.js';
import { MediaType } from '../registry/media-types.js';
import { formatReference, parseReference } from '../reference.js';
import type { ImageConfigFile } from './image-config.js';
import { atomicWrite, type ImageRecord, type ImageStore, type LayerRecord } from './image-store.js';

const digestOf = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function putBlob(store: ImageStore, bytes: Buffer): string {
  const digest = digestOf(bytes);
  if (!existsSync(store.blobPath(digest))) atomicWrite(store.blobPath(digest), bytes);
  return digest;
}

export function writeImage(
  store: ImageStore,
  o: { layers: LayerRecord[]; config: NonNullable<ImageConfigFile['config']>; history: NonNullable<ImageConfigFile['history']>; created: string; name?: string; source: string; author?: string },
): ImageRecord {
  store.ensureDirs();
  const { os, architecture, variant } = hostPlatform();
  const configFile: ImageConfigFile & { variant?: string } = {
    architecture,
    ...(variant ? { variant } : {}),
    os,
    created: o.created,
    ...(o.author ? { author: o.author } : {}),
    config: o.config,
    rootfs: { type: 'layers', diff_ids: o.layers.map((l) => l.diffId) },
    history: o.history,
  };
  const configBytes = Buffer.from(JSON.stringify(configFile));
  const configDigest = putBlob(store, configBytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: configBytes.length },
      layers: o.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const record: ImageRecord = {
    id: configDigest,
    manifestDigest: putBlob(store, manifest),
    names: [],
    layers: o.layers,
    config: configFile,
    source: o.source,
    pulledAt: new Date().toISOString(),
    size: configBytes.length + o.layers.reduce((n, l) => n + l.size, 0),
  };
  return o.name ? store.save(record, formatReference(parseReference(o.name))) : store.save(record, `mayfly.local/untagged:${configDigest.slice(7, 19)}`);
}
