/**
 * Writes a layer's entries into a fresh private directory, treating the layer as hostile. The
 * rules, in the order an entry meets them:
 *  1. Names are cleaned lexically: leading `/` and `.` components go (as Docker does), `..` pops a
 *     component, and a `..` that would climb above the layer root rejects the layer.
 *  2. Every parent component is resolved inside the root with lstat: a missing one is created, a
 *     symlink or a non-directory rejects the layer. Nothing is ever written *through* a symlink,
 *     so `evil -> /` followed by `evil/etc/passwd` cannot reach the host.
 *  3. The last component is replaced, never followed: an existing entry of that name is removed
 *     first (a directory is kept when the new entry is a directory too), and files are created
 *     with O_EXCL|O_NOFOLLOW.
 *  4. Hard links must name an entry already extracted in this layer, resolved by rule 2.
 *  5. Device nodes are skipped and reported (rootless cannot create them), except a 0/0 character
 *     device, which is overlayfs's own whiteout.
 * Nothing else writes into the directory while this runs (it is private and freshly made), so
 * checking with lstat and then acting on the path is not racy.
 *
 * Whiteouts are converted to overlayfs's format: `.wh.NAME` becomes a 0/0 character device at
 * NAME (or, where the filesystem refuses one, its xattr form: whiteouts.ts), `.wh..wh..opq` in a
 * directory sets `user.overlay.opaque=y` on it.
 */
import * as fs from 'node:fs';
import { constants as fsc, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import { mknod } from '../../sys/mounts.js';
import { lsetxattr } from '../../sys/xattr.js';
import { writeWhiteout } from './whiteouts.js';
import { reject, type EntryBody, type EntrySink, type TarEntry } from './tar-reader.js';

export type ChownPolicy = 'keep' | 'tolerate' | 'skip';

export interface ExtractLayerOptions {
  /**
   * What to do with the uid/gid recorded in the tar: `keep` chowns every entry and fails when that
   * is refused; `tolerate` tries and, where the ids are not mapped (EINVAL) or chown is not
   * allowed (EPERM), leaves the entry to the extracting user and reports one warning per layer;
   * `skip` never chowns.
   */
  chown: ChownPolicy;
  /** Problems that do not stop the extraction (at most one message per kind, per layer). */
  onWarning?: (msg: string) => void;
  /**
   * Creates the overlayfs whiteout for a deleted path. Default: `mknod(path, S_IFCHR, 0)` (Linux
   * 5.8 and later exempt this one device from CAP_MKNOD), or the xattr form where the filesystem
   * refuses the device (overlayfs: see whiteouts.ts). Tests can replace it.
   */
  whiteout?: (path: string) => void | Promise<void>;
  /** Changes an entry's owner without following a symlink. Default: `fs.lchownSync`. */
  lchown?: (path: string, uid: number, gid: number) => void | Promise<void>;
}

export interface ExtractLayerResult {
  /** Entries created: regular files, directories, symlinks, hard links and FIFOs. */
  files: number;
  /** Bytes of regular-file content written. */
  bytes: number;
  /** Whiteouts created and directories marked opaque. */
  whiteouts: number;
  /** Entries not extracted (device nodes, sparse files, aufs metadata...), by cleaned path. */
  skipped: string[];
}

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'user.overlay.opaque';
const S_IFIFO = 0o010000;

interface DirMeta {
  mode: number;
  atime: number | undefined;
  mtime: number | undefined;
}

type Warning = { count: number; example: string };

export class LayerWriter implements EntrySink {
  readonly result: ExtractLayerResult = { files: 0, bytes: 0, whiteouts: 0, skipped: [] };
  /** The entry being worked on, for messages about failures. */
  current: string | undefined;
  /** Paths (relative, cleaned) verified to be real directories, not symlinks. */
  readonly #dirs = new Set<string>(['']);
  /** Directory modes and times, applied when every entry is in: the entries may come in any order. */
  readonly #dirMeta = new Map<string, DirMeta>();
  /** Warnings by kind, reported once per layer when it is complete. */
  readonly #warnings = new Map<string, Warning>();
  readonly #lchown: (path: string, uid: number, gid: number) => void | Promise<void>;
  readonly #whiteout: (path: string) => void | Promise<void>;
  /** The owner every new entry gets without a chown; undefined when that is not known for sure. */
  readonly #ownIds: { uid: number; gid: number } | undefined;
  /** The permission bits open(2) takes away; undefined when it cannot be read. */
  readonly #umask: number | undefined;

  constructor(
    readonly root: string,
    readonly opts: ExtractLayerOptions,
  ) {
    // Per-entry metadata calls are synchronous: each is a few microseconds, where the promise API
    // pays a thread-pool round trip per call (a Debian base has thousands of entries: 2× slower)
    this.#lchown = opts.lchown ?? ((p, uid, gid) => fs.lchownSync(p, uid, gid));
    // most layers have no "./" entry: the root then gets the mode any implicit directory gets
    this.#dirMeta.set('', { mode: 0o755, atime: undefined, mtime: undefined });
    this.#whiteout = opts.whiteout ?? writeWhiteout;
    // a layer's entries mostly belong to its root, which is who extracts it in the sandbox: a
    // chown to the owner an entry already has is a syscall (and a journaled inode update) for nothing
    this.#ownIds = opts.lchown ? undefined : ownerOfNewEntries(root);
    this.#umask = currentUmask();
  }

  async write(entry: TarEntry, body: EntryBody): Promise<void> {
    const parts = cleanPath(entry.name, entry.name, 'path');
    const rel = parts.join('/');
    this.current = rel || entry.name;
    const base = parts[parts.length - 1] ?? '';

    if (parts.some((p, i) => p.startsWith(WHITEOUT_META_PREFIX) && !(i === parts.length - 1 && p === WHITEOUT_OPAQUE))) {
      this.result.skipped.push(rel); // aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not content
      return;
    }
    if (base === WHITEOUT_OPAQUE) return this.#opaque(parts.slice(0, -1), entry.name);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.#whiteoutEntry(parts, entry.name);

    if (!parts.length && entry.flag !== '5' && entry.flag !== 'D') {
      throw reject(entry.name, 'only a directory can name the layer root');
    }
    await this.#resolveDir(parts.slice(0, -1), entry.name, true);
    const abs = join(this.root, rel);

    switch (entry.flag) {
      case '0':
      case '7':
        return this.#file(entry, rel, abs, body);
      case '5':
      case 'D': // GNU dump dir: a directory whose data lists its contents
        return this.#directory(entry, rel, abs);
      case '2':
        return this.#symlink(entry, rel, abs);
      case '1':
        return this.#hardlink(entry, rel, abs);
      case '3':
        if (entry.devmajor === 0 && entry.devminor === 0) {
          // overlayfs's own whiteout format, as a tar of an upper dir carries it
          await this.#replace(rel, abs, false);
          await this.#makeWhiteout(abs, entry.name);
          this.result.whiteouts++;
          return;
        }
        this.result.skipped.push(rel);
        return;
      case '4':
        this.result.skipped.push(rel);
        return;
      case '6':
        return this.#fifo(entry, rel, abs);
      default:
        // sparse files, volume labels, multi-volume continuations...: not in OCI layers
        this.result.skipped.push(rel);
        this.#warn(`skipped entries of unsupported tar type "${entry.flag}"`, rel);
        return;
    }
  }

  async #file(entry: TarEntry, rel: string, abs: string, body: EntryBody): Promise<void> {
    // Created with its permission bits (the directory is private until the rename): when the umask
    // takes none of them and there is no setuid, setgid or sticky bit, open(2) gave the file its
    // mode and no fchmod is needed.
    const perm = entry.mode & 0o777;
    const fd = await this.#createFresh(rel, abs, () => fs.openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, perm));
    try {
      await body.forEach((chunk) => {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        this.result.bytes += chunk.length;
      });
      // chown clears setuid/setgid and security.capability: owner first, then mode, then xattrs
      await this.#chown(abs, rel, entry);
      if (this.#umask === undefined || perm !== entry.mode || (perm & this.#umask) !== 0) fs.fchmodSync(fd, entry.mode);
      this.#setXattrs(abs, rel, entry, false);
      if (entry.mtime !== undefined) fs.futimesSync(fd, entry.atime ?? entry.mtime, entry.mtime);
    } finally {
      fs.closeSync(fd);
    }
    this.result.files++;
  }

  async #directory(entry: TarEntry, rel: string, abs: string): Promise<void> {
    if (rel && (await this.#replace(rel, abs, true)) === 'none') fs.mkdirSync(abs, 0o700);
    this.#dirs.add(rel);
    await this.#chown(abs, rel, entry);
    this.#setXattrs(abs, rel, entry, false);
    this.#dirMeta.set(rel, { mode: entry.mode, atime: entry.atime, mtime: entry.mtime });
    if (rel) this.result.files++; // the root ("./") already exists
  }

  async #symlink(entry: TarEntry, rel: string, abs: string): Promise<void> {
    // The target is not checked: it is resolved in the container, never by this extraction,
    // which refuses to write through any symlink (see #resolveDir).
    if (!entry.linkpath) throw reject(entry.name, 'a symlink without a target');
    await this.#createFresh(rel, abs, () => fs.symlinkSync(entry.linkpath, abs));
    await this.#chown(abs, rel, entry);
    this.#setXattrs(abs, rel, entry, true);
    if (entry.mtime !== undefined) {
      try {
        fs.lutimesSync(abs, entry.atime ?? entry.mtime, entry.mtime);
      } catch {
        // some filesystems refuse times on symlinks: harmless
      }
    }
    this.result.files++;
  }

  async #hardlink(entry: TarEntry, rel: string, abs: string): Promise<void> {
    const targetParts = cleanPath(entry.linkpath, entry.name, 'hard link target');
    const target = targetParts.join('/');
    if (!target) throw reject(entry.name, 'a hard link to the layer root');
    await this.#resolveDir(targetParts.slice(0, -1), entry.name, false, `hard link target "${entry.linkpath}"`);
    const targetAbs = join(this.root, target);
    const st = await lstatOrNull(targetAbs);
    if (!st) throw reject(entry.name, `hard link to "${entry.linkpath}", which is not (yet) in this layer`);
    if (st.isDirectory()) throw reject(entry.name, `hard link to the directory "${entry.linkpath}"`);
    if (target === rel) return; // a link to itself: nothing to do
    await this.#replace(rel, abs, false);
    fs.linkSync(targetAbs, abs); // link(2) does not follow a symlink target on Linux
    this.result.files++;
  }

  async #fifo(entry: TarEntry, rel: string, abs: string): Promise<void> {
    await this.#replace(rel, abs, false);
    mknod(abs, S_IFIFO | 0o600, 0);
    await this.#chown(abs, rel, entry);
    await fsp.chmod(abs, entry.mode); // a FIFO we just made: chmod cannot follow anything
    this.#setXattrs(abs, rel, entry, false);
    if (entry.mtime !== undefined) await fsp.utimes(abs, entry.atime ?? entry.mtime, entry.mtime);
    this.result.files++;
  }

  /** `.wh.NAME`: NAME is deleted from the layers below. */
  async #whiteoutEntry(parts: string[], name: string): Promise<void> {
    const hidden = parts[parts.length - 1]!.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw reject(name, `a whiteout for "${hidden}"`);
    const dirParts = parts.slice(0, -1);
    await this.#resolveDir(dirParts, name, true);
    const rel = [...dirParts, hidden].join('/');
    const abs = join(this.root, rel);
    if (await lstatOrNull(abs)) {
      // OCI: a whiteout applies only to lower layers; what this layer itself adds stays.
      this.#warn('ignored whiteouts for paths this same layer adds', rel);
      return;
    }
    await this.#makeWhiteout(abs, name);
    this.result.whiteouts++;
  }

  /** `.wh..wh..opq` in D: D hides everything the layers below have in it. */
  async #opaque(dirParts: string[], name: string): Promise<void> {
    await this.#resolveDir(dirParts, name, true);
    lsetxattr(join(this.root, ...dirParts), OPAQUE_XATTR, 'y');
    this.result.whiteouts++;
  }

  async #makeWhiteout(abs: string, name: string): Promise<void> {
    try {
      await this.#whiteout(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as { errnoName?: string }).errnoName;
      throw new MayflyError('ROOTFS_FAILED', `cannot create the overlay whiteout for layer entry "${name}": ${(e as Error).message}`, {
        cause: e,
        hint: code === 'EPERM' ? 'mknod of a 0/0 character device needs Linux 5.8 or later, or root in a user namespace: extract layers inside the sandbox' : undefined,
        details: { entry: name },
      });
    }
  }

  /**
   * Resolves the directory `parts` inside the root without following any symlink, creating the
   * missing components when `create` is set. Returns the relative path.
   */
  async #resolveDir(parts: string[], entry: string, create: boolean, what = 'it'): Promise<string> {
    let rel = '';
    for (const part of parts) {
      rel = rel ? `${rel}/${part}` : part;
      if (this.#dirs.has(rel)) continue;
      const abs = join(this.root, rel);
      const st = await lstatOrNull(abs);
      if (!st) {
        if (!create) throw reject(entry, `${what} lies under "${rel}", which is not in this layer`);
        fs.mkdirSync(abs, 0o700);
        this.#dirMeta.set(rel, { mode: 0o755, atime: undefined, mtime: undefined }); // as containerd does
      } else if (st.isSymbolicLink()) {
        throw reject(entry, `${what} lies under "${rel}", a symlink: writing through it could leave the layer root`);
      } else if (!st.isDirectory()) {
        throw reject(entry, `${what} lies under "${rel}", which is not a directory`);
      }
      this.#dirs.add(rel);
    }
    return rel;
  }

  /**
   * Creates a new entry at rel with `create`, which must fail with EEXIST rather than reuse or
   * follow what is there (O_EXCL|O_NOFOLLOW, symlink(2)): most names are new, so the create is
   * tried first and only an EEXIST pays for #replace — one lstat fewer per entry, as GNU tar does.
   */
  async #createFresh<T>(rel: string, abs: string, create: () => T): Promise<T> {
    try {
      return create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    await this.#replace(rel, abs, false);
    return create();
  }

  /**
   * Makes room for a new entry at rel: removes what is there, except a directory when `keepDir`.
   * Returns 'dir' when a directory was kept, else 'none'.
   */
  async #replace(rel: string, abs: string, keepDir: boolean): Promise<'dir' | 'none'> {
    const st = await lstatOrNull(abs);
    if (!st) return 'none';
    if (st.isDirectory()) {
      if (keepDir) return 'dir';
      await removeTree(abs);
      for (const d of [...this.#dirs]) if (d === rel || d.startsWith(`${rel}/`)) this.#dirs.delete(d);
      for (const d of [...this.#dirMeta.keys()]) if (d === rel || d.startsWith(`${rel}/`)) this.#dirMeta.delete(d);
      return 'none';
    }
    await fsp.unlink(abs);
    return 'none';
  }

  async #chown(abs: string, rel: string, entry: TarEntry): Promise<void> {
    if (this.opts.chown === 'skip') return;
    if (this.#ownIds && entry.uid === this.#ownIds.uid && entry.gid === this.#ownIds.gid) return;
    try {
      await this.#lchown(abs, entry.uid, entry.gid);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (this.opts.chown === 'tolerate' && (code === 'EINVAL' || code === 'EPERM')) {
        this.#warn(
          "could not keep the layer's ownership (lchown refused: ids not mapped in this user namespace, or no privilege); those entries belong to the extracting user",
          `${rel} ${entry.uid}:${entry.gid} ${code}`,
        );
        return;
      }
      if (code === 'EINVAL' || code === 'EPERM') {
        throw new MayflyError('LAYER_REJECTED', `layer entry "${rel}" rejected: cannot give it its owner ${entry.uid}:${entry.gid} (lchown: ${code})`, {
          cause: e,
          hint: 'extract inside a user namespace that maps these ids, or pass chown: "tolerate"',
          details: { entry: rel, uid: entry.uid, gid: entry.gid, reason: `lchown ${code}` },
        });
      }
      throw e;
    }
  }

  #setXattrs(abs: string, rel: string, entry: TarEntry, isSymlink: boolean): void {
    for (const [name, value] of entry.xattrs) {
      if (name.startsWith('user.overlay.') || name.startsWith('trusted.overlay.')) {
        // overlayfs reads these from lower dirs (opaque, redirect, metacopy): a layer must not steer it
        this.#warn(`dropped overlayfs control xattr ${name}`, rel);
        continue;
      }
      if (!name.startsWith('user.') && name !== 'security.capability') {
        this.#warn(`ignored xattr ${name} (only user.* and security.capability are applied)`, rel);
        continue;
      }
      try {
        lsetxattr(abs, name, value);
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'error';
        const why = isSymlink && name.startsWith('user.') ? 'symlinks cannot carry user.* xattrs' : `lsetxattr: ${code}`;
        this.#warn(`could not set xattr ${name} (${why})`, rel);
      }
    }
  }

  #warn(kind: string, example: string): void {
    const w = this.#warnings.get(kind);
    if (w) w.count++;
    else this.#warnings.set(kind, { count: 1, example });
  }

  reportWarnings(): void {
    for (const [kind, { count, example }] of this.#warnings) {
      this.opts.onWarning?.(`${kind}: ${count} ${count === 1 ? 'entry' : 'entries'}, e.g. "${example}"`);
    }
  }

  /** Directory modes and times, deepest first, each re-checked to be a real directory. */
  async finish(): Promise<void> {
    this.current = undefined;
    const dirs = [...this.#dirMeta].sort(([a], [b]) => depth(b) - depth(a));
    for (const [rel, meta] of dirs) {
      const parts = rel ? rel.split('/') : [];
      await this.#resolveDir(parts.slice(0, -1), rel, false);
      const abs = join(this.root, rel);
      const st = await lstatOrNull(abs);
      if (!st?.isDirectory()) continue;
      await fsp.chmod(abs, meta.mode);
      if (meta.mtime !== undefined) await fsp.utimes(abs, meta.atime ?? meta.mtime, meta.mtime);
    }
  }
}

/**
 * Who owns what is created under `root` (mkdir, open, symlink, mknod): the process's effective ids,
 * unless the root hands its group down (setgid) or is not the process's own.
 */
function ownerOfNewEntries(root: string): { uid: number; gid: number } | undefined {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid === undefined || gid === undefined) return undefined;
  const st = fs.lstatSync(root);
  if (st.uid !== uid || st.gid !== gid || (st.mode & 0o2000) !== 0) return undefined;
  return { uid, gid };
}

/** The process's umask, from /proc (reading it with process.umask() would set it for a moment). */
function currentUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(fs.readFileSync('/proc/self/status', 'latin1'));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}

/** Linux's PATH_MAX, terminating zero included */
const PATH_MAX = 4096;

const depth = (rel: string) => (rel ? rel.split('/').length : 0);

/**
 * Cleans a tar name into path components: leading `/`, empty and `.` components go, `..` pops
 * one; a `..` with nothing left to pop would leave the layer root.
 */
function cleanPath(raw: string, entry: string, what: string): string[] {
  // a path no program could open by name (PATH_MAX) is no layer's: refused before any directory is made
  if (Buffer.byteLength(raw) >= PATH_MAX) throw reject(entry.slice(0, 200), `its ${what} is ${Buffer.byteLength(raw)} bytes long, more than the ${PATH_MAX - 1} a path may have`);
  const out: string[] = [];
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!out.length) throw reject(entry, `its ${what} "${raw}" climbs out of the layer root with ".."`);
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return fs.lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** rm -rf that also copes with directories whose mode denies the owner (0500, 0000...). */
export async function removeTree(path: string): Promise<void> {
  try {
    await fsp.rm(path, { recursive: true, force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
    await makeOwnerWritable(path);
    await fsp.rm(path, { recursive: true, force: true });
  }
}

async function makeOwnerWritable(path: string): Promise<void> {
  const st = await lstatOrNull(path);
  if (!st?.isDirectory()) return;
  await fsp.chmod(path, 0o700).catch(() => {});
  for (const name of await fsp.readdir(path).catch(() => [] as string[])) await makeOwnerWritable(join(path, name));
}

