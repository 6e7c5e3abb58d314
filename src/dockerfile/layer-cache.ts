/**
 * The build's layer cache: a step's key (its parent's key and everything it depends on: command,
 * environment, sources' content…) → the layer it made (or none, for a WORKDIR that had nothing to
 * create). Entries are small JSON files in MAYFLY_HOME; an entry whose layer was pruned is a miss.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from '../core/files.js';
import type { ImageStore, LayerRecord } from '../image/store/image-store.js';

export interface CacheEntry {
  layer: LayerRecord | null;
  /** when the layer was made: the newest one is the image's `created`, so an unchanged rebuild keeps its ID */
  created: string;
}

export function cacheKey(parent: string, inputs: unknown): string {
  return createHash('sha256').update(`${parent}\n${JSON.stringify(inputs)}`).digest('hex');
}

export class LayerCache {
  private readonly dir: string;
  constructor(
    private readonly store: ImageStore,
    /** --no-cache: nothing is read (what is made is still written, for the next build) */
    private readonly disabled: boolean,
  ) {
    this.dir = join(store.home, 'build-cache');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  get(key: string): CacheEntry | undefined {
    if (this.disabled) return undefined;
    try {
      const entry = JSON.parse(readFileSync(join(this.dir, `${key}.json`), 'utf8')) as CacheEntry;
      if (entry.layer && (!this.store.hasLayer(entry.layer.chainId) || !existsSync(this.store.blobPath(entry.layer.digest)))) return undefined;
      return entry;
    } catch {
      return undefined;
    }
  }

  put(key: string, entry: CacheEntry): void {
    atomicWrite(join(this.dir, `${key}.json`), JSON.stringify(entry));
  }
}
