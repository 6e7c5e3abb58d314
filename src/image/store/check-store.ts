/**
 * `mayfly system check`: whether the store is whole. Every record readable and complete (its
 * config, manifest and layer blobs present with the digests they are named by, its layers
 * extracted), every name pointing at a record that knows it, and no leftover of an install that
 * died half way (`.partial` blobs, `.extracting-` and `.stage-` layer directories, `.tmp` files).
 * It reports; the plan it returns says what a repair does (the engine carries it out: layer
 * directories may only be deleted inside the user namespace).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord, ImageStore } from './image-store.js';
import { unreferencedContent } from './unreferenced.js';
import { abandonedTemporary, tryLock } from '../../sys/locks.js';

export type ProblemKind =
  | 'record-unreadable'
  | 'config-missing'
  | 'config-digest'
  | 'manifest-missing'
  | 'manifest-digest'
  | 'layer-missing'
  | 'layer-blob-missing'
  | 'blob-digest'
  | 'name-dangling'
  | 'name-unrecorded'
  | 'leftover';

export interface StoreProblem {
  kind: ProblemKind;
  /** the file or directory concerned */
  path: string;
  message: string;
  /** the image it breaks (its ID), when it breaks one */
  image?: string;
}

export interface StoreReport {
  images: number;
  blobs: number;
  layers: number;
  /** blobs whose content was hashed (all of them unless `verifyBlobs: false`) */
  blobsVerified: number;
  problems: StoreProblem[];
  /** content nothing uses: `mayfly image prune` removes it; not a problem */
  unreferenced: { layers: number; blobs: number };
}

export interface RepairPlan {
  /** image records to forget (with every name pointing at them): they are broken; pull or build them again */
  forget: string[];
  /** unreadable record files to delete */
  records: string[];
  /** names to drop (they point at no record) */
  names: string[];
  /** names to write into the record they point at */
  renames: { id: string; name: string }[];
  /** store paths (blobs, layer directories, leftovers) to delete */
  paths: string[];
}

const hex = (digest: string) => digest.replace(/^sha256:/, '');
const CONTENT = /^[0-9a-f]{64}$/;
/** what installs and builds name their work in progress: never a finished entry */
const LEFTOVER = /(\.partial(-.*)?|\.extracting-\d+(\.partial-.*)?|\.tmp)$|^\.(stage|commit)-/;

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function sha256Of(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Checks the store. Call it holding the store lock exclusively: an install in progress would
 * otherwise show as leftovers.
 */
export function checkStore(store: ImageStore, opts: { verifyBlobs?: boolean } = {}): StoreReport {
  const problems: StoreProblem[] = [];
  const imagesDir = join(store.home, 'images');
  const blobs = list(store.blobsDir).filter((f) => CONTENT.test(f));
  const layers = list(store.layersDir).filter((f) => CONTENT.test(f));

  // blobs: each named by the digest of its content
  const badBlobs = new Set<string>();
  let blobsVerified = 0;
  if (opts.verifyBlobs !== false) {
    for (const b of blobs) {
      const actual = sha256Of(join(store.blobsDir, b));
      blobsVerified++;
      if (actual !== b) {
        badBlobs.add(b);
        problems.push({ kind: 'blob-digest', path: join(store.blobsDir, b), message: `blob sha256:${b.slice(0, 12)} holds content with digest ${actual ? `sha256:${actual.slice(0, 12)}` : '(unreadable)'}` });
      }
    }
  }

  // records: readable, complete
  const records: ImageRecord[] = [];
  for (const f of list(imagesDir)) {
    const path = join(imagesDir, f);
    if (LEFTOVER.test(f)) {
      // names and records are written outside the store lock too (tag): a leftover only when its writer is gone
      if (abandonedTemporary(path)) problems.push({ kind: 'leftover', path, message: `a record write that never finished: ${f}` });
      continue;
    }
    if (!/^[0-9a-f]{64}\.json$/.test(f)) continue;
    try {
      const r = JSON.parse(readFileSync(path, 'utf8')) as ImageRecord;
      if (typeof r.id !== 'string' || !Array.isArray(r.layers) || !Array.isArray(r.names)) throw new Error('not an image record');
      records.push(r);
    } catch (e) {
      problems.push({ kind: 'record-unreadable', path, message: `image record ${f} cannot be read: ${(e as Error).message}` });
    }
  }
  const blobProblem = (r: ImageRecord, digest: string, missing: ProblemKind, corrupt: ProblemKind, what: string) => {
    const path = store.blobPath(digest);
    if (!isFile(path)) problems.push({ kind: missing, path, message: `${name(r)}: its ${what} ${digest.slice(0, 19)} is missing`, image: r.id });
    else if (badBlobs.has(hex(digest))) problems.push({ kind: corrupt, path, message: `${name(r)}: its ${what} ${digest.slice(0, 19)} is corrupt`, image: r.id });
  };
  for (const r of records) {
    blobProblem(r, r.id, 'config-missing', 'config-digest', 'config');
    // records made before manifests were kept have none to check
    if (r.manifestMediaType) blobProblem(r, r.manifestDigest, 'manifest-missing', 'manifest-digest', 'manifest');
    for (const l of r.layers) {
      if (!isDir(store.layerPath(l.chainId))) problems.push({ kind: 'layer-missing', path: store.layerPath(l.chainId), message: `${name(r)}: its layer ${l.chainId.slice(0, 19)} is not extracted`, image: r.id });
      blobProblem(r, l.digest, 'layer-blob-missing', 'blob-digest', 'layer blob');
    }
  }

  // names: each to a record that lists it
  const byId = new Map(records.map((r) => [hex(r.id), r]));
  for (const [n, id] of Object.entries(store.names())) {
    const r = byId.get(hex(id));
    if (!r) problems.push({ kind: 'name-dangling', path: join(imagesDir, 'names.json'), message: `the name ${n} points at ${id.slice(0, 19)}, which is not in the store` });
    else if (!r.names.includes(n)) problems.push({ kind: 'name-unrecorded', path: join(imagesDir, `${hex(id)}.json`), message: `${id.slice(0, 19)} does not list its name ${n}`, image: r.id });
  }

  // leftovers of installs, builds and commits that died
  for (const [dir, entries] of [
    [store.blobsDir, list(store.blobsDir)],
    [store.layersDir, list(store.layersDir)],
  ] as const) {
    for (const e of entries) if (LEFTOVER.test(e)) problems.push({ kind: 'leftover', path: join(dir, e), message: `left by an install or build that did not finish: ${e}` });
  }

  const unref = unreferencedContent(store);
  return { images: records.length, blobs: blobs.length, layers: layers.length, blobsVerified, problems, unreferenced: { layers: unref.layers.length, blobs: unref.blobs.length } };
}

/** The leftovers of installs, builds, commits and record writes that did not finish (to be deleted only while no install runs). */
export function storeLeftovers(store: ImageStore): string[] {
  const dirs = [store.blobsDir, store.layersDir];
  const images = join(store.home, 'images');
  // record and name writes happen outside the store lock too: only those whose writer is gone
  const records = list(images).filter((e) => LEFTOVER.test(e) && abandonedTemporary(join(images, e)));
  return [...dirs.flatMap((d) => list(d).filter((e) => LEFTOVER.test(e)).map((e) => join(d, e))), ...records.map((e) => join(images, e))];
}

/**
 * Deletes the leftovers if no install is running right now (the store lock is free to take
 * exclusively, without waiting); a sandbox does this when it starts. Returns what it deleted.
 */
export function sweepStoreLeftovers(store: ImageStore): string[] {
  let fd: number;
  try {
    fd = openSync(join(store.home, 'locks', 'store.lock'), 'a');
  } catch {
    return []; // no store yet
  }
  try {
    if (!tryLock(fd)) return [];
    const paths = storeLeftovers(store);
    for (const p of paths) rmSync(p, { recursive: true, force: true });
    return paths;
  } finally {
    closeSync(fd);
  }
}

function name(r: ImageRecord): string {
  return r.names[0] ?? r.id.slice(0, 19);
}

/** What a repair does about the problems found: broken images are forgotten (pull or build them again), leftovers and corrupt blobs deleted, names set straight. */
export function repairPlan(store: ImageStore, report: StoreReport): RepairPlan {
  const plan: RepairPlan = { forget: [], records: [], names: [], renames: [], paths: [] };
  const names = store.names();
  for (const p of report.problems) {
    switch (p.kind) {
      case 'record-unreadable':
        plan.records.push(p.path);
        break;
      case 'name-dangling':
        plan.names.push(...Object.entries(names).filter(([, id]) => !store.read(id)).map(([n]) => n));
        break;
      case 'name-unrecorded': {
        for (const [n, id] of Object.entries(names)) if (id === p.image && !store.read(id)?.names.includes(n)) plan.renames.push({ id, name: n });
        break;
      }
      case 'blob-digest':
        plan.paths.push(p.path);
        if (p.image) plan.forget.push(p.image);
        break;
      case 'leftover':
        plan.paths.push(p.path);
        break;
      default:
        if (p.image) plan.forget.push(p.image);
    }
  }
  const uniq = <T>(xs: T[]) => [...new Set(xs)];
  return { forget: uniq(plan.forget), records: uniq(plan.records), names: uniq(plan.names), renames: plan.renames.filter((r, i, a) => a.findIndex((x) => x.id === r.id && x.name === r.name) === i), paths: uniq(plan.paths) };
}
