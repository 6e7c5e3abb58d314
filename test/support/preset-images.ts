/**
 * The images mayfly's presets name (`nginx`, `postgres`, `redis` on Docker Hub), made here because
 * Docker Hub is out of reach: look-alikes built by mayfly's own builder from presets/images/<name>
 * on the Debian base, pushed to the run's registry as `library/<name>` with upstream's kind of tags
 * (`latest`, the version, its major), so that with docker.io mirrored to that registry a preset
 * pulls them by their upstream names.
 *
 * Only runs that need them pay for them: global setup starts the registry and mirrors docker.io to
 * it; a test file that runs these images calls `usePresetImages()`, and the first worker to get
 * there publishes them (under a lock; the others wait, then find them published).
 *
 * Each image is built once per machine: the result is kept as a `mayfly save` archive (an OCI image
 * layout tar) in the test cache, keyed by the image's directory and the Debian base tar. A run
 * pushes the archives' blobs and manifests to its registry with mayfly's registry client: loading
 * them into a store first would unpack every layer only to pack it up again (10 s for postgres).
 * Builds happen in a private store, removed afterwards, so the tests' own store starts empty and
 * really pulls through the mirror.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync, chmodSync, constants, createReadStream, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, unlinkSync, utimesSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { beforeAll } from 'vitest';
import { isMayflyError } from '../../src/errors.js';
import { atomicWrite } from '../../src/files.js';
import { withFileLock } from '../../src/image/store/lock.js';
import { RegistryClient } from '../../src/image/registry/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { ImageRecord } from '../../src/image/store/image-store.js';
import { debianBaseTar, TEST_CACHE } from './debian-base.js';

const execFileAsync = promisify(execFile);

export const PRESET_IMAGES_DIR = resolve(import.meta.dirname, '../../presets/images');
const CACHE_DIR = join(TEST_CACHE, 'preset-images');
/** archives not used for this long (another checkout's, an older Dockerfile's) are deleted */
const CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;
const BASE_NAME = 'debian:bookworm';
/** part of every key: change it when what this file builds changes in a way the keys do not see */
const CACHE_GENERATION = 1;

/** How each image states its version, for its tags. */
const VERSIONS: Record<string, { argv: string[]; pattern: RegExp; tags: (version: string) => string[] }> = {
  // nginx version: nginx/1.22.1 → 1.22.1, 1.22, 1
  nginx: { argv: ['nginx', '-v'], pattern: /nginx\/(\d+\.\d+\.\d+)/, tags: semverTags },
  // postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1) → 15.14, 15
  postgres: { argv: ['postgres', '--version'], pattern: /\(PostgreSQL\) (\d+\.\d+)/, tags: (v) => [v, v.split('.')[0]!] },
  // Redis server v=7.0.15 sha=… → 7.0.15, 7.0, 7
  redis: { argv: ['redis-server', '--version'], pattern: /\bv=(\d+\.\d+\.\d+)/, tags: semverTags },
};

function semverTags(v: string): string[] {
  const [major, minor] = v.split('.');
  return [v, `${major}.${minor}`, major!];
}

export interface PresetImage {
  /** e.g. `nginx` (pushed as `library/nginx`) */
  name: string;
  /** e.g. `['latest', '1.22.1', '1.22', '1']` */
  tags: string[];
  /** whether this run built it (false: it came from the cache) */
  built: boolean;
}

export interface PresetImagesOptions {
  /** `host:port` of a plain-HTTP registry to push to */
  registry: string;
  /** the unpacked Debian base (global-setup's $MAYFLY_TEST_DEBIAN), imported as `debian:bookworm` for a build */
  debianRootfs: string;
  /** a scratch directory of this run (a private store for builds, unpacked archives) */
  workDir: string;
  /** progress lines; default: stderr */
  log?: (line: string) => void;
}

/** Cold, the first run builds every image: allow for a slow package archive. */
const PUBLISH_TIMEOUT_MS = 20 * 60_000;

/**
 * For a test file that runs the presets' images: before its tests start, `nginx`, `postgres` and
 * `redis` are in the run's registry ($MAYFLY_TEST_REGISTRY), which docker.io is mirrored to.
 */
export function usePresetImages(): void {
  beforeAll(async () => {
    await presetImagesReady();
  }, PUBLISH_TIMEOUT_MS);
}

let ready: Promise<PresetImage[]> | undefined;

/** Publishes the images once per test run, whichever worker asks first; the others wait for it. */
export function presetImagesReady(): Promise<PresetImage[]> {
  ready ??= (async () => {
    const registry = process.env.MAYFLY_TEST_REGISTRY;
    const base = process.env.MAYFLY_TEST_TMP_BASE;
    const debianRootfs = process.env.MAYFLY_TEST_DEBIAN;
    if (!registry || !base || !debianRootfs) throw new Error('the preset images need the test registry and Debian base of test/support/global-setup.ts');
    const done = join(base, 'preset-images.json');
    return withFileLock(join(base, 'preset-images.lock'), async () => {
      if (readable(done)) return JSON.parse(readFileSync(done, 'utf8')) as PresetImage[];
      const images = await preparePresetImages({ registry, debianRootfs, workDir: base });
      atomicWrite(done, JSON.stringify(images));
      return images;
    }, 100);
  })();
  return ready;
}

interface Wanted {
  name: string;
  key: string;
  /** where its archive is (the cache, or workDir when the cache is not ours to write) */
  archive: string;
  built: boolean;
}

/** Builds what the cache lacks (one image after the other), then pushes every image to the registry. */
export async function preparePresetImages(o: PresetImagesOptions): Promise<PresetImage[]> {
  const log = o.log ?? ((line: string) => process.stderr.write(`[preset-images] ${line}\n`));
  const started = performance.now();
  const names = readdirSync(PRESET_IMAGES_DIR).filter((n) => statSync(join(PRESET_IMAGES_DIR, n)).isDirectory()).sort();
  for (const n of names) if (!VERSIONS[n]) throw new Error(`presets/images/${n}: test/support/preset-images.ts does not know how to find its version`);
  const baseHash = await fileHash(debianBaseTar());
  const wanted: Wanted[] = names.map((name) => {
    const key = createHash('sha256').update(`generation ${CACHE_GENERATION}\ndebian ${baseHash}\n${dirHash(join(PRESET_IMAGES_DIR, name))}`).digest('hex').slice(0, 20);
    return { name, key, archive: join(CACHE_DIR, `${name}-${key}.tar`), built: false };
  });
  const missing = wanted.filter((w) => !readable(w.archive));
  if (missing.length) await buildMissing(missing, baseHash, o, log);

  // the images go up side by side (the registry hashes on the other core); a blob two images share
  // is sent once and mounted into the other repositories
  const client = new RegistryClient(`http://${o.registry}`);
  const holders = new Map<string, Promise<string>>();
  const unpacked = mkdtempSync(join(o.workDir, 'preset-archives-'));
  let out: PresetImage[];
  try {
    out = await Promise.all(
      wanted.map(async (w) => {
        const t0 = performance.now();
        const tags = await pushArchive(client, w.archive, `library/${w.name}`, join(unpacked, w.name), holders);
        if (!w.built) touch(w.archive);
        log(`${w.name}: ${w.built ? 'built' : `cache hit (${w.key})`}; pushed ${tags.map((t) => `${w.name}:${t}`).join(', ')} to ${o.registry} in ${seconds(t0)}`);
        return { name: w.name, tags, built: w.built };
      }),
    );
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  log(`ready in ${seconds(started)}`);
  return out;
}

/** Builds each missing image in a private store and saves it as an archive; sets `archive` and `built`. */
async function buildMissing(missing: Wanted[], baseHash: string, o: PresetImagesOptions, log: (line: string) => void): Promise<void> {
  const cacheWritable = ensureCacheDir();
  const archiveDir = cacheWritable ? CACHE_DIR : mkdtempSync(join(o.workDir, 'preset-built-'));
  if (!cacheWritable) log(`${CACHE_DIR} is not writable by uid ${process.getuid?.()}: what is built now is kept for this run only`);
  const home = join(o.workDir, 'preset-images-home');
  const rt = await Runtime.start({ home, onWarning: () => {} });
  try {
    // one base layer for every image, across runs: the Debian base imported once, kept as an archive
    const baseArchive = join(archiveDir, `debian-bookworm-${baseHash.slice(0, 20)}.tar`);
    const t0 = performance.now();
    if (readable(baseArchive)) {
      await rt.load(baseArchive);
    } else {
      await rt.importRootfs(o.debianRootfs, BASE_NAME, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] });
      await saveArchive(rt, [BASE_NAME], baseArchive);
      if (cacheWritable) pruneCache('debian-bookworm', baseArchive);
    }
    log(`base image ${BASE_NAME} ready in ${seconds(t0)}`);
    for (const w of missing) {
      const t1 = performance.now();
      log(`${w.name}: cache miss (${w.key}): building presets/images/${w.name} (fetches Debian packages; about a minute)`);
      const record = await build(rt, w.name, log);
      w.archive = join(archiveDir, `${w.name}-${w.key}.tar`);
      await saveArchive(rt, record.names.filter((n) => n.startsWith('docker.io/library/')), w.archive);
      w.built = true;
      log(`${w.name}: built in ${seconds(t1)}; kept in ${w.archive}`);
      if (cacheWritable) pruneCache(w.name, w.archive);
    }
  } finally {
    // the store's layers belong to the images' users (subordinate ids when rootless): the sandbox deletes them
    for (const image of rt.images()) await rt.rmi(image.id, { force: true }).catch(() => {});
    await rt.prune().catch(() => {});
    await rt.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function build(rt: Runtime, name: string, log: (line: string) => void): Promise<ImageRecord> {
  const t0 = performance.now();
  let record: ImageRecord;
  try {
    record = await rt.build({
      context: join(PRESET_IMAGES_DIR, name),
      tag: `docker.io/library/${name}:latest`,
      onStep: (s) => {
        if (!s.metadata) log(`${name}: step ${s.index}/${s.total} at ${seconds(t0)}: ${s.text.length > 100 ? `${s.text.slice(0, 97)}...` : s.text}`);
      },
    });
  } catch (e) {
    // the builder keeps the failed RUN's last lines; a CI log must show them
    const output = isMayflyError(e) && typeof e.details.output === 'string' ? `\n${e.details.output}` : '';
    throw new Error(`building presets/images/${name} failed: ${(e as Error).message}${output}`, { cause: e });
  }
  const { argv, pattern, tags } = VERSIONS[name]!;
  const c = await rt.create({ image: record.id, entrypoint: argv, pull: 'never' });
  const chunks: string[] = [];
  try {
    await c.start({ onOutput: (_s, d) => chunks.push(Buffer.from(d).toString()) });
    await c.wait();
  } finally {
    await c.remove({ force: true });
  }
  const version = pattern.exec(chunks.join(''))?.[1];
  if (!version) throw new Error(`presets/images/${name}: \`${argv.join(' ')}\` printed no version: ${chunks.join('')}`);
  for (const tag of tags(version)) rt.tag(record.id, `docker.io/library/${name}:${tag}`);
  return rt.inspect(record.id);
}

/** Written under a temporary name, made readable by every user of the machine, then renamed. */
async function saveArchive(rt: Runtime, names: string[], archive: string): Promise<void> {
  const tmp = `${archive}.${process.pid}.tmp`;
  try {
    await rt.save(names, tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, archive);
  } finally {
    rmSync(tmp, { force: true });
  }
}

interface IndexJson {
  manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
}
interface ManifestJson {
  config: { digest: string };
  layers: { digest: string }[];
}

/**
 * Pushes the image of a `mayfly save` archive to `repo` under each tag its names carry. `holders`
 * maps a blob to the upload that sends it (resolving to its repository): a blob another image of
 * this run sends too is awaited and mounted, not sent twice. Returns the tags.
 */
async function pushArchive(client: RegistryClient, archive: string, repo: string, dir: string, holders: Map<string, Promise<string>>): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await execFileAsync('tar', ['-x', '-f', archive, '-C', dir]);
  const blob = (digest: string) => join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as IndexJson;
  const tags: string[] = [];
  for (const entry of index.manifests) {
    const name = entry.annotations?.['io.containerd.image.name'] ?? entry.annotations?.['org.opencontainers.image.ref.name'] ?? '';
    const tag = name.slice(name.lastIndexOf(':') + 1);
    if (!name.includes(':') || tag.includes('/')) throw new Error(`${archive}: index.json names no tag for ${entry.digest} ("${name}")`);
    const raw = readFileSync(blob(entry.digest));
    const manifest = JSON.parse(raw.toString()) as ManifestJson;
    // top layers first: the images' own layers go up side by side before they meet at the shared base
    for (const { digest } of [manifest.config, ...[...manifest.layers].reverse()]) {
      const held = holders.get(digest);
      if (held) {
        const from = await held;
        if (from === repo || (await client.blobExists(repo, digest)) || (await client.mountBlob(repo, digest, from))) continue;
        await client.uploadBlob(repo, digest, blob(digest));
        continue;
      }
      const upload = (async () => {
        if (!(await client.blobExists(repo, digest))) await client.uploadBlob(repo, digest, blob(digest));
        return repo;
      })();
      holders.set(digest, upload);
      await upload;
    }
    await client.putManifest(repo, tag, raw, entry.mediaType);
    tags.push(tag);
  }
  return tags.sort((a, b) => (a === 'latest' ? -1 : b === 'latest' ? 1 : b.localeCompare(a, 'en', { numeric: true })));
}

function ensureCacheDir(): boolean {
  try {
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o755 });
    if (statSync(CACHE_DIR).uid === process.getuid?.()) chmodSync(CACHE_DIR, 0o755);
    accessSync(CACHE_DIR, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** A hit marks the archive as in use (best effort: another user's file is not ours to touch). */
function touch(file: string): void {
  try {
    const now = new Date();
    utimesSync(file, now, now);
  } catch {
    // not ours
  }
}

/** Other archives of the image unused for a week go (the cache is shared by every checkout on the machine). */
function pruneCache(name: string, keep: string): void {
  for (const f of readdirSync(CACHE_DIR)) {
    const p = join(CACHE_DIR, f);
    if (p === keep || !f.startsWith(`${name}-`) || !f.endsWith('.tar')) continue;
    try {
      if (Date.now() - statSync(p).mtimeMs > CACHE_MAX_AGE_MS) unlinkSync(p);
    } catch {
      // another user's, or gone already
    }
  }
}

async function fileHash(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/**
 * What decides an image: every file's path, content, link target and whether it is executable
 * (not the rest of the mode, which follows the checkout's umask).
 */
function dirHash(dir: string): string {
  const h = createHash('sha256');
  const visit = (p: string) => {
    const st = lstatSync(p);
    const rel = relative(dir, p) || '.';
    if (st.isSymbolicLink()) h.update(`link ${rel}\0${readlinkSync(p)}\0`);
    else if (st.isDirectory()) for (const n of readdirSync(p).sort()) visit(join(p, n));
    else {
      const content = readFileSync(p);
      h.update(`file ${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0${content.length}\0`).update(content);
    }
  };
  visit(dir);
  return h.digest('hex');
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}
