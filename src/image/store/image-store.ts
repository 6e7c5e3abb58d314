/**
 * The local image store under MAYFLY_HOME: blobs by digest, extracted layers by chain ID (shared by
 * every image that has them), one record per image, and a name → image table. Everything is
 * written to a temporary name and renamed, so readers in other processes never see half a file.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
// records and names are written under flock: a writer killed half way leaves a temporary a sweep can tell is dead
import { atomicWriteLocked as atomicWrite } from '../../sys/locks.js';
import { formatReference, parseReference } from '../reference.js';
import type { ImageConfigFile } from './image-config.js';

export interface LayerRecord {
  /** digest of the blob as the registry stores it (compressed) */
  digest: string;
  /** digest of the uncompressed tar */
  diffId: string;
  chainId: string;
  size: number;
  mediaType: string;
}

export interface ImageRecord {
  /** the config blob's digest: the image ID */
  id: string;
  manifestDigest: string;
  /** the manifest's media type; its bytes are the blob `manifestDigest` (records from before have neither) */
  manifestMediaType?: string;
  /** normalized names, e.g. docker.io/library/busybox:latest */
  names: string[];
  layers: LayerRecord[];
  config: ImageConfigFile;
  /** where it came from: registry/repository */
  source: string;
  pulledAt: string;
  /** compressed size of config and layers */
  size: number;
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');

export class ImageStore {
  constructor(readonly home: string) {}

  get blobsDir(): string {
    return join(this.home, 'blobs', 'sha256');
  }
  get layersDir(): string {
    return join(this.home, 'layers');
  }
  private get imagesDir(): string {
    return join(this.home, 'images');
  }
  private get namesFile(): string {
    return join(this.home, 'images', 'names.json');
  }

  ensureDirs(): void {
    for (const d of [this.blobsDir, this.layersDir, this.imagesDir, join(this.home, 'locks')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    return join(this.blobsDir, hex(digest));
  }

  layerPath(chainId: string): string {
    return join(this.layersDir, hex(chainId));
  }

  lockPath(digest: string): string {
    return join(this.home, 'locks', `${hex(digest)}.lock`);
  }

  hasLayer(chainId: string): boolean {
    return existsSync(this.layerPath(chainId));
  }

  names(): Record<string, string> {
    try {
      return JSON.parse(readFileSync(this.namesFile, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  /** An image by name (`busybox`, `mongo:7`, `host:5000/x@sha256:…`) or by ID (or a prefix of 12+). */
  find(nameOrId: string): ImageRecord | undefined {
    const byId = /^(sha256:)?[0-9a-f]{12,64}$/.test(nameOrId) ? this.list().find((r) => hex(r.id).startsWith(hex(nameOrId))) : undefined;
    if (byId) return byId;
    let normalized: string;
    try {
      normalized = formatReference(parseReference(nameOrId));
    } catch {
      return undefined;
    }
    const id = this.names()[normalized];
    return id ? this.read(id) : undefined;
  }

  read(id: string): ImageRecord | undefined {
    try {
      return JSON.parse(readFileSync(join(this.imagesDir, `${hex(id)}.json`), 'utf8')) as ImageRecord;
    } catch {
      return undefined;
    }
  }

  list(): ImageRecord[] {
    if (!existsSync(this.imagesDir)) return [];
    return readdirSync(this.imagesDir)
      .filter((f) => /^[0-9a-f]{64}\.json$/.test(f))
      .map((f) => this.read(f.slice(0, 64)))
      .filter((r): r is ImageRecord => r !== undefined);
  }

  /**
   * Saves a record and points `name` at it (a name moves from an older image, like `docker tag`).
   * Without a name the record keeps the names it has (an untagged image when it has none).
   */
  save(record: ImageRecord, name?: string): ImageRecord {
    const existing = this.read(record.id);
    if (name === undefined) {
      const kept: ImageRecord = { ...record, names: existing?.names ?? [] };
      atomicWrite(join(this.imagesDir, `${hex(record.id)}.json`), JSON.stringify(kept, null, 2));
      return kept;
    }
    const names = this.names();
    const previous = names[name];
    names[name] = record.id;
    const merged: ImageRecord = { ...record, names: [...new Set([...(existing?.names ?? []), name])] };
    atomicWrite(join(this.imagesDir, `${hex(record.id)}.json`), JSON.stringify(merged, null, 2));
    if (previous && previous !== record.id) {
      const old = this.read(previous);
      if (old) atomicWrite(join(this.imagesDir, `${hex(previous)}.json`), JSON.stringify({ ...old, names: old.names.filter((n) => n !== name) }, null, 2));
    }
    atomicWrite(this.namesFile, JSON.stringify(names, null, 2));
    return merged;
  }

  /** Forgets a name; the image record goes when no name is left. Layers stay for `prune`. */
  untag(name: string): void {
    const names = this.names();
    const id = names[name];
    if (!id) return;
    delete names[name];
    atomicWrite(this.namesFile, JSON.stringify(names, null, 2));
    const rec = this.read(id);
    if (!rec) return;
    const left = rec.names.filter((n) => n !== name);
    if (left.length) atomicWrite(join(this.imagesDir, `${hex(id)}.json`), JSON.stringify({ ...rec, names: left }, null, 2));
    else rmSync(join(this.imagesDir, `${hex(id)}.json`), { force: true });
  }

  /** Drops names from names.json only (names that point at no record: a repair's work). */
  dropNames(drop: string[]): void {
    const names = this.names();
    for (const n of drop) delete names[n];
    atomicWrite(this.namesFile, JSON.stringify(names, null, 2));
  }

  /** Removes an image record and every name that points at it. Layers and blobs stay for `prune`. */
  forget(id: string): void {
    const names = this.names();
    for (const [name, target] of Object.entries(names)) if (target === id) delete names[name];
    atomicWrite(this.namesFile, JSON.stringify(names, null, 2));
    rmSync(join(this.imagesDir, `${hex(id)}.json`), { force: true });
  }
}


export { atomicWrite };
