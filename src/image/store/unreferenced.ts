/**
 * What the store holds that nothing needs: layer directories no image record and no live container
 * uses, blobs no image record names. Only content-addressed entries (64 hex digits) are candidates:
 * a half-written blob or layer of an install in progress has another name and is never touched.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageStore } from './image-store.js';
import { liveContainers } from './live-containers.js';

const hex = (digest: string) => digest.replace(/^sha256:/, '');
const contentName = /^[0-9a-f]{64}$/;

export interface Unreferenced {
  /** absolute paths of layer directories */
  layers: string[];
  /** absolute paths of blob files */
  blobs: string[];
}

/**
 * Unreferenced content; with `among`, only that part of it which is among those digests (chain IDs
 * for layers, blob digests for blobs): what an `rmi` may take with it.
 */
export function unreferencedContent(store: ImageStore, among?: { chainIds: string[]; blobs: string[] }): Unreferenced {
  const layersKept = new Set<string>();
  const blobsKept = new Set<string>();
  for (const r of store.list()) {
    for (const l of r.layers) {
      layersKept.add(store.layerPath(l.chainId));
      blobsKept.add(hex(l.digest));
    }
    blobsKept.add(hex(r.id));
    blobsKept.add(hex(r.manifestDigest));
  }
  for (const c of liveContainers(store.home)) for (const l of c.layers ?? []) layersKept.add(l);
  const layerCandidates = among ? among.chainIds.map(hex) : list(store.layersDir);
  const blobCandidates = among ? among.blobs.map(hex) : list(store.blobsDir);
  const present = (dir: string) => new Set(list(dir));
  const layersPresent = present(store.layersDir);
  const blobsPresent = present(store.blobsDir);
  return {
    layers: [...new Set(layerCandidates)]
      .filter((h) => contentName.test(h) && layersPresent.has(h))
      .map((h) => join(store.layersDir, h))
      .filter((p) => !layersKept.has(p)),
    blobs: [...new Set(blobCandidates)].filter((h) => contentName.test(h) && blobsPresent.has(h) && !blobsKept.has(h)).map((h) => join(store.blobsDir, h)),
  };
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
