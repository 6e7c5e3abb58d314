/**
 * Look-alikes of the images mayfly's presets and tests name on Docker Hub (`nginx`, `postgres`,
 * `redis`, `mariadb`/`mysql`, `node`, and testcontainers-node's test server), for machines that
 * cannot reach it: built by mayfly's own builder from presets/images/<name> on a Debian base, each
 * keeping the contract written in its README.md, and named under their Docker Hub repositories with
 * upstream's kind of tags (see NAMING), so that with docker.io mirrored to a registry that has them
 * (MAYFLY_REGISTRY_MIRRORS) a preset pulls them by their upstream names. The project's tests, its
 * benchmarks and the demo use them.
 *
 * Each image is built once per machine: the result is kept as a `mayfly save` archive (an OCI image
 * layout tar) in a cache directory, keyed by the image's directory and the Debian base tar. Pushing
 * sends the archives' blobs and manifests to the registry with mayfly's registry client: loading
 * them into a store first would unpack every layer only to pack it up again (10 s for postgres).
 * Builds happen in a private store, removed afterwards.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync, chmodSync, constants, cpSync, createReadStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, unlinkSync, utimesSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { isMayflyError, MayflyError } from '../../core/errors.js';
import { forEachBounded } from '../../core/for-each-bounded.js';
import { runTool } from '../../core/host-tool.js';
import { packageRoot } from '../../core/paths.js';
import { Runtime } from '../../engine/runtime.js';
import { RegistryClient } from '../../image/registry/index.js';
import type { ImageRecord } from '../../image/store/image-store.js';
import { withFileLock } from '../../sys/locks.js';
import { debianBaseTar, DEBIAN_BASE_NAME, importDebianBase } from './debian-base.js';

/** presets/images in the package: the images' Dockerfiles, scripts and contracts */
export function presetImagesDir(): string {
  return join(packageRoot(), 'presets', 'images');
}

const execFileAsync = promisify(execFile);

/** archives not used for this long (another checkout's, an older Dockerfile's) are deleted */
const CACHE_MAX_AGE_MS = 7 * 24 * 3600_000;
/** part of every key: change it when what this file builds changes in a way the keys do not see */
const CACHE_GENERATION = 2;

/**
 * What each image is published as: its repository on Docker Hub, the tags its version gives (read
 * from the built image), and fixed extra names — upstream names whose contract the image keeps
 * although its version differs (the MariaDB look-alike stands in for `mariadb:11` and `mysql:8.4`).
 */
interface Naming {
  /** e.g. `library/nginx` (docker.io/library/nginx) */
  repo: string;
  /** how the image states its version, and the tags that gives */
  version?: { argv: string[]; pattern: RegExp; tags: (version: string) => string[] };
  /** more names, `repo:tag` */
  also?: string[];
}

const NAMING: Record<string, Naming> = {
  // nginx version: nginx/1.22.1 → 1.22.1, 1.22, 1
  nginx: { repo: 'library/nginx', version: { argv: ['nginx', '-v'], pattern: /nginx\/(\d+\.\d+\.\d+)/, tags: semverTags } },
  // postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1) → 15.14, 15
  postgres: { repo: 'library/postgres', version: { argv: ['postgres', '--version'], pattern: /\(PostgreSQL\) (\d+\.\d+)/, tags: (v) => [v, v.split('.')[0]!] } },
  // Redis server v=7.0.15 sha=… → 7.0.15, 7.0, 7
  redis: { repo: 'library/redis', version: { argv: ['redis-server', '--version'], pattern: /\bv=(\d+\.\d+\.\d+)/, tags: semverTags } },
  // mariadbd  Ver 10.11.14-MariaDB-0+deb12u2 … → 10.11.14, 10.11, 10; and the tags the presets default to
  mariadb: {
    repo: 'library/mariadb',
    version: { argv: ['mariadbd', '--version'], pattern: /Ver (\d+\.\d+\.\d+)-MariaDB/, tags: semverTags },
    also: ['library/mariadb:11', 'library/mysql:latest', 'library/mysql:8', 'library/mysql:8.4'],
  },
  // the HTTP server testcontainers-node's own tests run: its one tag, whatever Node.js it has
  testcontainer: { repo: 'cristianrgreco/testcontainer', also: ['cristianrgreco/testcontainer:1.1.14'] },
  // v18.20.4 → 18.20.4, 18.20, 18 (the builder's tests build FROM node:18)
  node: { repo: 'library/node', version: { argv: ['node', '--version'], pattern: /^v(\d+\.\d+\.\d+)/, tags: semverTags } },
};

function semverTags(v: string): string[] {
  const [major, minor] = v.split('.');
  return [v, `${major}.${minor}`, major!];
}

export interface LookalikeImage {
  /** its directory in presets/images, e.g. `nginx` */
  name: string;
  /** its repository, e.g. `library/nginx` */
  repo: string;
  /** its tags in that repository, e.g. `['latest', '1.22.1', '1.22', '1']` */
  tags: string[];
  /** every `repo:tag` it was pushed as, other repositories included (e.g. `library/mysql:8.4`) */
  refs: string[];
  /** whether this run built it (false: it came from the cache) */
  built: boolean;
}

export interface LookalikeImagesOptions {
  /** `host:port` of a plain-HTTP registry to push to */
  registry: string;
  /** where built images are kept as archives (shared by every checkout and user of the machine), beside the Debian base tar */
  cacheDir: string;
  /** the unpacked Debian base (debian-base.ts), imported as `debian:bookworm` for a build; or what unpacks it, called only if a build needs it */
  debianRootfs: string | (() => Promise<string>);
  /** a scratch directory of this run (a private store for builds, unpacked archives) */
  workDir: string;
  /** progress lines; default: stderr */
  log?: (line: string) => void;
}

export interface LookalikeArchive {
  name: string;
  key: string;
  /** where its archive is (the cache, or workDir when the cache is not ours to write) */
  archive: string;
  built: boolean;
}

/**
 * Builds what the cache lacks (two at a time) and says where each image's archive is: what CI does
 * ahead of the suite (scripts/prebuild-test-images.mjs), and the first step of a publish.
 */
export async function buildLookalikeArchives(o: Omit<LookalikeImagesOptions, 'registry'>): Promise<LookalikeArchive[]> {
  const log = o.log ?? ((line: string) => process.stderr.write(`[lookalike-images] ${line}\n`));
  const archives = join(o.cacheDir, 'preset-images');
  const names = readdirSync(presetImagesDir()).filter((n) => statSync(join(presetImagesDir(), n)).isDirectory()).sort();
  for (const n of names) if (!NAMING[n]) throw new Error(`presets/images/${n}: src/presets/lookalike/lookalike-images.ts does not know what to publish it as (NAMING)`);
  const baseHash = await fileHash(await debianBaseTar(o.cacheDir));
  const wanted: LookalikeArchive[] = names.map((name) => {
    const { repo, also = [] } = NAMING[name]!;
    const key = createHash('sha256')
      .update(`generation ${CACHE_GENERATION}\ndebian ${baseHash}\nnames ${[repo, ...also].join(' ')}\n${dirHash(join(presetImagesDir(), name))}`)
      .digest('hex')
      .slice(0, 20);
    return { name, key, archive: join(archives, `${name}-${key}.tar`), built: false };
  });
  const missing = () => wanted.filter((w) => !readable(w.archive));
  if (!missing().length) return wanted;
  if (!ensureCacheDir(archives)) {
    await buildMissing(missing(), baseHash, { ...o, log });
    return wanted;
  }
  // one builder per machine at a time (CI's prebuild beside the suite, two checkouts' runs): the
  // second finds the archives the first made
  await withFileLock(join(archives, '.build.lock'), async () => {
    const left = missing();
    if (left.length) await buildMissing(left, baseHash, { ...o, log });
  }, 500);
  return wanted;
}

/** Builds what the cache lacks, then pushes every image to the registry. */
export async function prepareLookalikeImages(o: LookalikeImagesOptions): Promise<LookalikeImage[]> {
  const log = o.log ?? ((line: string) => process.stderr.write(`[lookalike-images] ${line}\n`));
  const started = performance.now();
  const wanted = await buildLookalikeArchives({ ...o, log });

  // the images go up side by side (the registry hashes on the other core); a blob two images share
  // is sent once and mounted into the other repositories
  const client = new RegistryClient(`http://${o.registry}`);
  const holders = new Map<string, Promise<string>>();
  const unpacked = mkdtempSync(join(o.workDir, 'preset-archives-'));
  let out: LookalikeImage[];
  try {
    out = await Promise.all(
      wanted.map(async (w) => {
        const t0 = performance.now();
        const refs = await pushArchive(client, w.archive, join(unpacked, w.name), holders);
        if (!w.built) touch(w.archive);
        log(`${w.name}: ${w.built ? 'built' : `cache hit (${w.key})`}; pushed ${refs.join(', ')} to ${o.registry} in ${seconds(t0)}`);
        const { repo } = NAMING[w.name]!;
        const tags = refs.filter((r) => r.startsWith(`${repo}:`)).map((r) => r.slice(repo.length + 1));
        return { name: w.name, repo, tags, refs, built: w.built };
      }),
    );
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  log(`ready in ${seconds(started)}`);
  return out;
}

/** Builds each missing image in a private store and saves it as an archive; sets `archive` and `built`. */
async function buildMissing(missing: LookalikeArchive[], baseHash: string, o: Omit<LookalikeImagesOptions, 'registry'> & { log: (line: string) => void }): Promise<void> {
  const { log } = o;
  const cacheDir = join(o.cacheDir, 'preset-images');
  const cacheWritable = ensureCacheDir(cacheDir);
  const archiveDir = cacheWritable ? cacheDir : mkdtempSync(join(o.workDir, 'preset-built-'));
  if (!cacheWritable) log(`${cacheDir} is not writable by uid ${process.getuid?.()}: what is built now is kept for this run only`);
  const home = join(o.workDir, 'preset-images-home');
  const rt = await Runtime.start({ home, onWarning: () => {} });
  try {
    // one base layer for every image, across runs: the Debian base imported once, kept as an archive
    const baseArchive = join(archiveDir, `debian-bookworm-${baseHash.slice(0, 20)}.tar`);
    const t0 = performance.now();
    if (readable(baseArchive)) {
      await rt.load(baseArchive);
    } else {
      await importDebianBase(rt, typeof o.debianRootfs === 'string' ? o.debianRootfs : await o.debianRootfs());
      await saveArchive(rt, [DEBIAN_BASE_NAME], baseArchive);
      if (cacheWritable) pruneCache(cacheDir, 'debian-bookworm', baseArchive);
    }
    log(`base image ${DEBIAN_BASE_NAME} ready in ${seconds(t0)}`);
    // two builds side by side: most of a build is waiting on the package archive and unpacking,
    // so a second build fills the other core (on a fresh machine 188 s one after the other); a
    // failed build lets the other end before the store is cleared below
    await forEachBounded(missing, 2, async (w) => {
      const t1 = performance.now();
      log(`${w.name}: cache miss (${w.key}): building presets/images/${w.name} (fetches Debian packages; about a minute)`);
      const record = await buildLookalikeImage(rt, w.name, log);
      w.archive = join(archiveDir, `${w.name}-${w.key}.tar`);
      await saveArchive(rt, record.names.filter((n) => n.startsWith('docker.io/')), w.archive);
      w.built = true;
      log(`${w.name}: built in ${seconds(t1)}; kept in ${w.archive}`);
      if (cacheWritable) pruneCache(cacheDir, w.name, w.archive);
    });
  } finally {
    // the store's layers belong to the images' users (subordinate ids when rootless): the sandbox deletes them
    for (const image of rt.images()) await rt.rmi(image.id, { force: true }).catch(() => {});
    await rt.prune().catch(() => {});
    await rt.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * An image directory with a `context-packages` file is built from a copy of it holding those npm
 * packages' tarballs (`npm pack`, through the host's npm and its registry settings): what the
 * Dockerfile installs from them is pinned by the file, which the cache key hashes with the rest.
 */
async function stageContext(dir: string, log: (line: string) => void): Promise<{ dir: string; remove(): void } | undefined> {
  const list = join(dir, 'context-packages');
  if (!existsSync(list)) return undefined;
  const specs = readFileSync(list, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const staged = mkdtempSync(join(tmpdir(), 'mayfly-lookalike-context-'));
  const remove = () => rmSync(staged, { recursive: true, force: true });
  try {
    cpSync(dir, staged, { recursive: true });
    for (const spec of specs) {
      log(`packing ${spec} into the build context`);
      await runTool('npm', ['pack', '--silent', '--pack-destination', staged, spec], { code: 'BUILD_FAILED' });
    }
  } catch (e) {
    remove();
    throw e;
  }
  return { dir: staged, remove };
}

/**
 * Builds presets/images/NAME into the store of `rt` (which must have `debian:bookworm`), named as
 * NAMING says under docker.io: the look-alike a preset then finds without pulling.
 */
export async function buildLookalikeImage(rt: Runtime, name: string, log: (line: string) => void): Promise<ImageRecord> {
  if (!NAMING[name]) throw new MayflyError('INVALID_OPTION', `no look-alike image "${name}" (known: ${Object.keys(NAMING).join(', ')})`);
  const t0 = performance.now();
  let record: ImageRecord;
  const staged = await stageContext(join(presetImagesDir(), name), log);
  try {
    record = await rt.build({
      context: staged?.dir ?? join(presetImagesDir(), name),
      tag: `docker.io/${NAMING[name]!.repo}:latest`,
      onStep: (s) => {
        if (!s.metadata) log(`${name}: step ${s.index}/${s.total} at ${seconds(t0)}: ${s.text.length > 100 ? `${s.text.slice(0, 97)}...` : s.text}`);
      },
    });
  } catch (e) {
    // the builder keeps the failed RUN's last lines; a CI log must show them
    const output = isMayflyError(e) && typeof e.details.output === 'string' ? `\n${e.details.output}` : '';
    throw new Error(`building presets/images/${name} failed: ${(e as Error).message}${output}`, { cause: e });
  } finally {
    staged?.remove();
  }
  const { repo, version, also = [] } = NAMING[name]!;
  if (version) {
    const { argv, pattern, tags } = version;
    const c = await rt.create({ image: record.id, entrypoint: argv, pull: 'never' });
    const chunks: string[] = [];
    try {
      await c.start({ onOutput: (_s, d) => chunks.push(Buffer.from(d).toString()) });
      await c.wait();
    } finally {
      await c.remove({ force: true });
    }
    const found = pattern.exec(chunks.join(''))?.[1];
    if (!found) throw new Error(`presets/images/${name}: \`${argv.join(' ')}\` printed no version: ${chunks.join('')}`);
    for (const tag of tags(found)) rt.tag(record.id, `docker.io/${repo}:${tag}`);
  }
  for (const ref of also) rt.tag(record.id, `docker.io/${ref}`);
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
 * Pushes the image of a `mayfly save` archive under each `docker.io/REPO:TAG` name it carries, to
 * REPO:TAG. `holders` maps a blob to the upload that sends it (resolving to its repository): a
 * blob another image or repository of this run sends too is awaited and mounted, not sent twice.
 * Returns the `REPO:TAG`s, each repository's `latest` first, then the newest version first.
 */
async function pushArchive(client: RegistryClient, archive: string, dir: string, holders: Map<string, Promise<string>>): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  await execFileAsync('tar', ['-x', '-f', archive, '-C', dir]);
  const blob = (digest: string) => join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as IndexJson;
  const refs: string[] = [];
  for (const entry of index.manifests) {
    const name = entry.annotations?.['io.containerd.image.name'] ?? entry.annotations?.['org.opencontainers.image.ref.name'] ?? '';
    const ref = /^docker\.io\/([a-z0-9._/-]+):([\w][\w.-]*)$/.exec(name);
    if (!ref) throw new Error(`${archive}: index.json names no docker.io/REPO:TAG for ${entry.digest} ("${name}")`);
    const [, repo, tag] = ref as unknown as [string, string, string];
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
    refs.push(`${repo}:${tag}`);
  }
  const split = (ref: string) => [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)] as const;
  return refs.sort((a, b) => {
    const [[ra, ta], [rb, tb]] = [split(a), split(b)];
    if (ra !== rb) return ra.localeCompare(rb);
    return ta === 'latest' ? -1 : tb === 'latest' ? 1 : tb.localeCompare(ta, 'en', { numeric: true });
  });
}

function ensureCacheDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    if (statSync(dir).uid === process.getuid?.()) chmodSync(dir, 0o755);
    accessSync(dir, constants.W_OK);
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
function pruneCache(dir: string, name: string, keep: string): void {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
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
