/**
 * Initialised-data snapshots: the state directories of a service right after its first-start
 * initialisation (a database's data directory after initdb and the init scripts), kept under
 * MAYFLY_HOME/snapshots so that later starts of the same configuration copy them in instead of
 * initialising again. Content-addressed: the key is a digest of everything that shapes the
 * initialisation (the harness computes it), so a changed init script or option is another snapshot.
 *
 *   snapshots/<key>/snapshot.json   the record (image, paths, size)
 *   snapshots/<key>/manifest.json   every entry of data/, checked before each use
 *   snapshots/<key>/data/<n>        the n-th state directory
 *   snapshots/.tmp-<key>-<random>/  a snapshot being written; renamed into place when complete
 *   snapshots/locks/                store.lock (shared: use and commit; exclusive: prune, eviction)
 *                                   and <key>.lock (one first start initialises, the others wait)
 *
 * The data belongs to the service's users (subordinate ids when rootless): writing, checking and
 * deleting happen in the sandbox; records are plain files anyone may read.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runTool } from '../../core/host-tool.js';
import { liveContainers } from '../store/live-containers.js';
import { manifestDifference, treeManifest, treeManifestAsync, type ManifestEntry } from './tree-manifest.js';
import { checkAndWatch, stillIntact } from './watched-snapshots.js';

export interface SnapshotRecord {
  key: string;
  /** the image's ID (config digest): a snapshot is only ever used with the image that made it */
  imageId: string;
  /** the reference it was started by, for listings */
  image: string;
  /** the container paths, in the order of data/<n> */
  paths: string[];
  createdAt: string;
  /** bytes of file content */
  bytes: number;
}

export interface SnapshotListing extends SnapshotRecord {
  dir: string;
  /** epoch ms of the last start that used it */
  lastUsed: number;
}

export type SnapshotLookup = { found: true; dirs: string[]; record: SnapshotRecord } | { found: false; reason: string; corrupt: boolean };

export type SnapshotCommit = { ok: true; bytes: number } | { ok: false; reason: string; code?: string };

const KEY = /^[0-9a-f]{64}$/;

export function snapshotsDir(home: string): string {
  return join(home, 'snapshots');
}

export function snapshotLocksDir(home: string): string {
  return join(snapshotsDir(home), 'locks');
}

export function isSnapshotKey(key: string): boolean {
  return KEY.test(key);
}

function keyDir(home: string, key: string): string {
  if (!KEY.test(key)) throw new Error(`not a snapshot key: ${key}`);
  return join(snapshotsDir(home), key);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/**
 * The snapshot of `key` if its record says it was made by this image and its manifest is there;
 * marks it used. Its files are checked against the manifest by `verifySnapshot`, which a start runs
 * while its container starts (the container is discarded if they differ).
 */
export function lookupSnapshot(home: string, key: string, imageId: string): SnapshotLookup {
  const dir = keyDir(home, key);
  if (!existsSync(dir)) return { found: false, reason: 'none made yet', corrupt: false };
  const corrupt = (reason: string): SnapshotLookup => ({ found: false, reason, corrupt: true });
  const record = readJson<SnapshotRecord>(join(dir, 'snapshot.json'));
  if (!record || !Array.isArray(record.paths)) return corrupt('its record is missing or unreadable');
  if (record.key !== key) return corrupt(`its record names another key (${String(record.key).slice(0, 12)})`);
  if (record.imageId !== imageId) return corrupt(`it was made by another image (${String(record.imageId).slice(0, 19)})`);
  if (!existsSync(join(dir, 'manifest.json'))) return corrupt('its manifest is missing');
  const now = new Date();
  utimesSync(dir, now, now);
  return { found: true, dirs: record.paths.map((_p, i) => join(dir, 'data', String(i))), record };
}

/**
 * Every file of the snapshot as its manifest recorded it; else why not. A snapshot this process
 * checked before and has watched since without a change is not walked again (watched-snapshots.ts).
 */
export async function verifySnapshot(home: string, key: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const dir = keyDir(home, key);
  if (stillIntact(dir)) return { ok: true };
  const manifest = readJson<ManifestEntry[]>(join(dir, 'manifest.json'));
  if (!Array.isArray(manifest)) return { ok: false, reason: 'its manifest is missing or unreadable' };
  const directories = manifest.filter((e) => Array.isArray(e) && e[1] === 'd').map((e) => e[0]);
  return checkAndWatch(dir, directories, async () => {
    let actual: ManifestEntry[];
    try {
      actual = await treeManifestAsync(join(dir, 'data'));
    } catch (e) {
      return { ok: false as const, reason: `its data cannot be read: ${(e as Error).message}` };
    }
    const difference = manifestDifference(manifest, actual);
    return difference ? { ok: false as const, reason: `its data differs from its manifest: ${difference}` } : { ok: true as const };
  });
}

/**
 * Copies quiesced state directories into the store as the snapshot of `key`: written under a
 * temporary name and renamed when complete, so an interrupted commit (a full disk, a killed
 * process) leaves nothing that could be used. The caller holds the key's lock: leftovers of an
 * earlier, interrupted commit of this key are swept first; a corrupt snapshot of the key is replaced.
 */
export async function commitSnapshot(
  home: string,
  req: { key: string; imageId: string; image: string; paths: string[]; sources: string[] },
  signal?: AbortSignal,
): Promise<SnapshotCommit> {
  const final = keyDir(home, req.key);
  const root = snapshotsDir(home);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(root)) if (name.startsWith(`.tmp-${req.key}-`)) rmSync(join(root, name), { recursive: true, force: true });
  const tmp = join(root, `.tmp-${req.key}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(join(tmp, 'data'), { recursive: true, mode: 0o700 });
    for (const [i, source] of req.sources.entries()) await runTool('cp', ['-a', '--no-target-directory', '--', source, join(tmp, 'data', String(i))], signal ? { signal } : {});
    const manifest = treeManifest(join(tmp, 'data'));
    const bytes = manifest.reduce((n, e) => n + e[5], 0);
    const record: SnapshotRecord = { key: req.key, imageId: req.imageId, image: req.image, paths: req.paths, createdAt: new Date().toISOString(), bytes };
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest));
    writeFileSync(join(tmp, 'snapshot.json'), JSON.stringify(record, null, 2));
    signal?.throwIfAborted();
    if (existsSync(final)) discard(root, final);
    renameSync(tmp, final);
    return { ok: true, bytes };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    const err = e as NodeJS.ErrnoException;
    const noSpace = err.code === 'ENOSPC' || /No space left on device/i.test(err.message);
    return { ok: false, reason: noSpace ? `no space left on device under ${root}` : err.message, ...(noSpace ? { code: 'ENOSPC' } : err.code ? { code: err.code } : {}) };
  }
}

/** Moves a snapshot out of its name at once (nobody can pick it up any more), then deletes it. */
function discard(root: string, dir: string): void {
  const trash = join(root, `.trash-${randomBytes(6).toString('hex')}`);
  renameSync(dir, trash);
  rmSync(trash, { recursive: true, force: true });
}

/** The snapshots in the store, with their size and last use; readable by anyone who can read MAYFLY_HOME. */
export function listSnapshots(home: string): SnapshotListing[] {
  const root = snapshotsDir(home);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const out: SnapshotListing[] = [];
  for (const key of names.filter((n) => KEY.test(n))) {
    const dir = join(root, key);
    const record = readJson<SnapshotRecord>(join(dir, 'snapshot.json'));
    let lastUsed = 0;
    try {
      lastUsed = statSync(dir).mtimeMs;
    } catch {
      continue;
    }
    out.push({ key, imageId: record?.imageId ?? '', image: record?.image ?? '', paths: record?.paths ?? [], createdAt: record?.createdAt ?? '', bytes: record?.bytes ?? 0, dir, lastUsed });
  }
  return out;
}

/** Keys of the snapshots live containers run on (their tmpfs mounts' lower layers): never deleted. */
export function snapshotsInUse(home: string): Set<string> {
  const root = `${snapshotsDir(home)}/`;
  const keys = new Set<string>();
  for (const c of liveContainers(home)) {
    for (const dir of c.seededFrom ?? []) if (dir.startsWith(root)) keys.add(dir.slice(root.length).split('/')[0]!);
  }
  return keys;
}

/**
 * Deletes snapshots by key, or (`all`) every snapshot and every leftover of an interrupted commit;
 * never one a live container runs on. The caller holds the store lock exclusively: no start is
 * setting one up meanwhile.
 */
export function removeSnapshots(home: string, which: { keys: string[] } | 'all'): string[] {
  const root = snapshotsDir(home);
  if (!existsSync(root)) return [];
  const busy = snapshotsInUse(home);
  const removed: string[] = [];
  if (which === 'all') {
    for (const name of readdirSync(root)) {
      if (busy.has(name)) continue;
      if (KEY.test(name)) removed.push(name);
      if (KEY.test(name) || name.startsWith('.tmp-') || name.startsWith('.trash-')) rmSync(join(root, name), { recursive: true, force: true });
    }
    return removed;
  }
  for (const key of which.keys) {
    const dir = keyDir(home, key);
    if (busy.has(key) || !existsSync(dir)) continue;
    discard(root, dir);
    removed.push(key);
  }
  return removed;
}

/** The least recently used snapshots to delete so that the rest fit in `capBytes`; those in `keep` are never chosen. */
export function overCap(listing: SnapshotListing[], capBytes: number, keep: Set<string>): string[] {
  let total = listing.reduce((n, s) => n + s.bytes, 0);
  const victims: string[] = [];
  for (const s of [...listing].sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= capBytes) break;
    if (keep.has(s.key)) continue;
    victims.push(s.key);
    total -= s.bytes;
  }
  return victims;
}
