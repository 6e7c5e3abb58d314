/**
 * Unpacks one image layer — a tar stream, gzip-compressed or not — into a directory that later
 * becomes a read-only overlayfs lower dir, mounted with `userxattr` inside mayfly's user namespace.
 *
 * A layer comes from a registry and is treated as hostile. The rules, in the order an entry meets
 * them:
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
 * Nothing else writes into the extraction directory while this runs (it is private and freshly
 * made), so checking with lstat and then acting on the path is not racy.
 *
 * The layer is unpacked into `<dest>.partial-<pid>-<random>` and renamed to `dest` only when
 * complete; on any failure the partial directory is removed and `dest` never appears.
 *
 * Whiteouts are converted to overlayfs's format: `.wh.NAME` becomes a 0/0 character device at
 * NAME, `.wh..wh..opq` in a directory sets `user.overlay.opaque=y` on it.
 *
 * The tar framing and PAX records are read here, with tar's `Header` decoding each 512-byte
 * block: tar's `Parser` drops `SCHILY.xattr.*` records and decodes PAX values as UTF-8, which
 * would corrupt binary xattr values such as `security.capability`.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { constants as fsc, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Header } from 'tar';
import { MayflyError, isMayflyError } from '../errors.js';
import { lsetxattr } from './xattr.js';

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
   * Creates the overlayfs whiteout for a deleted path. Default: `mknod(path, S_IFCHR, 0)`; Linux
   * 5.8 and later exempt this one device from CAP_MKNOD, so it works for any user. Tests (or an
   * xattr-whiteout fallback) can replace it.
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

const BLOCK = 512;
/** PAX and GNU long-name records are held in memory; real ones are a few hundred bytes. */
const MAX_META_SIZE = 1024 * 1024;
const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'user.overlay.opaque';
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/**
 * Extracts a layer into `dest`, which must not exist yet. Resolves with what was extracted;
 * rejects with MayflyError 'LAYER_REJECTED' for a hostile or malformed layer (the message names
 * the entry and the reason), 'INVALID_OPTION' when `dest` exists, 'ROOTFS_FAILED' when the file
 * system refuses an operation.
 */
export async function extractLayer(
  stream: NodeJS.ReadableStream,
  dest: string,
  opts: ExtractLayerOptions,
): Promise<ExtractLayerResult> {
  if (!['keep', 'tolerate', 'skip'].includes(opts.chown)) {
    throw new MayflyError('INVALID_OPTION', `extractLayer: chown must be keep, tolerate or skip, got "${String(opts.chown)}"`);
  }
  if (await lstatOrNull(dest)) {
    throw new MayflyError('INVALID_OPTION', `cannot extract a layer into ${dest}: it already exists`, {
      hint: 'extract into a new directory; a complete layer is never extracted twice',
    });
  }
  await fsp.mkdir(dirname(dest), { recursive: true });
  const partial = `${dest}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fsp.mkdir(partial, 0o700);

  const writer = new LayerWriter(partial, opts);
  let chunks: AsyncIterator<Buffer> | undefined;
  try {
    chunks = await openTarStream(stream);
    await readEntries(new BlockReader(chunks), writer);
    await writer.finish();
    await fsp.rename(partial, dest);
    writer.reportWarnings();
    return writer.result;
  } catch (e) {
    const err = asMayflyError(e, dest, writer.current);
    // Stop the producer with *this* error, so that a pipeline feeding `stream` fails with the
    // reason too instead of a bare "premature close".
    const destroyable = stream as { destroy?: (err?: Error) => void };
    if (typeof destroyable.destroy === 'function') destroyable.destroy(err);
    await chunks?.return?.(undefined).catch(() => {});
    await removeTree(partial).catch((rmErr: unknown) => {
      opts.onWarning?.(`could not remove the partial layer directory ${partial}: ${(rmErr as Error).message}`);
    });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Reading: decompression, 512-byte framing, PAX and GNU long names

/** The decompressed byte stream: gzip is recognised by its magic bytes 1f 8b. */
async function openTarStream(stream: NodeJS.ReadableStream): Promise<AsyncIterator<Buffer>> {
  const raw = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const r = await raw.next();
    if (r.done) break;
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    head.push(b);
    headLength += b.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (first.length) yield first;
      for (;;) {
        const r = await raw.next();
        if (r.done) return;
        yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
      }
    } finally {
      await raw.return?.();
    }
  }
  if (first[0] === 0x1f && first[1] === 0x8b) {
    const gunzip = pipeline(Readable.from(replay(), { objectMode: false }), createGunzip(), () => {});
    return (gunzip as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }
  return replay();
}

/** Thrown by BlockReader when the stream ends inside a header or an entry's data. */
class TruncatedError extends Error {}

class BlockReader {
  #it: AsyncIterator<Buffer>;
  #chunk: Buffer = Buffer.alloc(0);
  #off = 0;
  /** Bytes consumed so far (for messages about headers that have no name yet). */
  offset = 0;

  constructor(it: AsyncIterator<Buffer>) {
    this.#it = it;
  }

  async #fill(): Promise<boolean> {
    while (this.#off >= this.#chunk.length) {
      const r = await this.#it.next();
      if (r.done) return false;
      this.#chunk = r.value;
      this.#off = 0;
    }
    return true;
  }

  /** Exactly n bytes; null at a clean end of stream; TruncatedError if it ends part-way. */
  async read(n: number): Promise<Buffer | null> {
    if (n === 0) return Buffer.alloc(0);
    if (!(await this.#fill())) return null;
    const parts: Buffer[] = [];
    for await (const part of this.take(n)) parts.push(part);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Yields the next n bytes as they arrive. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TruncatedError();
      const len = Math.min(left, this.#chunk.length - this.#off);
      const part = this.#chunk.subarray(this.#off, this.#off + len);
      this.#off += len;
      this.offset += len;
      left -= len;
      yield part;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n));
  }

  /** Reads to the end: lets gzip check its trailer and an upstream digest see every byte. */
  async drain(): Promise<void> {
    this.#off = this.#chunk.length;
    while (await this.#fill()) this.#off = this.#chunk.length;
  }
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** One file-system entry of the tar, with PAX and GNU long-name overrides applied. */
interface TarEntry {
  name: string;
  flag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number | undefined;
  atime: number | undefined;
  linkpath: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

/** Types with no data, whatever the size field says (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

async function readEntries(reader: BlockReader, writer: LayerWriter): Promise<void> {
  let pax: Map<string, Buffer> | undefined;
  const globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;

  for (;;) {
    const at = reader.offset;
    writer.current = `header at byte ${at}`;
    let block: Buffer | null;
    try {
      block = await reader.read(BLOCK);
    } catch (e) {
      if (e instanceof TruncatedError) throw reject(writer.current, 'the stream ends inside a tar header (truncated layer?)');
      throw e;
    }
    if (!block) break; // no end-of-archive blocks: tolerated, as GNU tar and Go do
    const header = new Header(block);
    if (header.nullBlock) break; // end of archive
    if (!header.cksumValid) throw reject(writer.current, 'bad header checksum: corrupt layer, or not a tar stream');

    let flag = String.fromCharCode(block[156]!);
    const isMeta = flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K';
    const name = isMeta ? (header.path ?? '') : (paxString(pax, 'path') ?? longName ?? header.path ?? '');
    // pre-POSIX tars: type NUL is a file, or a directory when the name ends in "/"
    if (flag === '\0') flag = name.endsWith('/') ? '5' : '0';
    writer.current = name || writer.current;

    try {
      if (isMeta) {
        const size = header.size ?? 0;
        if (size > MAX_META_SIZE) throw reject(name, `a ${flag} metadata record of ${size} bytes (the limit is ${MAX_META_SIZE})`);
        const data = await reader.read(size);
        if (!data) throw new TruncatedError();
        await reader.skip(padded(size) - size);
        if (flag === 'x') pax = mergePax(pax ?? new Map(), parsePax(data, name));
        else if (flag === 'g') {
          for (const [k, v] of parsePax(data, name)) {
            if (v.length) globalPax.set(k, v);
            else globalPax.delete(k);
          }
        } else if (flag === 'L') longName = cString(data);
        else longLink = cString(data);
        continue;
      }

      const effective = new Map(globalPax);
      effective.delete('path');
      effective.delete('linkpath');
      for (const [k, v] of pax ?? []) effective.set(k, v);
      const entry = toEntry(header, block, flag, name, longLink, effective);
      pax = longName = longLink = undefined;

      const size = HEADER_ONLY.has(flag) ? 0 : entry.size;
      const body = reader.take(size);
      await writer.write(entry, body);
      for await (const _ of body); // whatever the writer did not consume
      await reader.skip(padded(size) - size);
    } catch (e) {
      if (e instanceof TruncatedError) throw reject(name, 'the stream ends inside this entry (truncated layer?)');
      throw e;
    }
  }
  writer.current = undefined;
  await reader.drain();
}

function toEntry(
  header: Header,
  block: Buffer,
  flag: string,
  name: string,
  longLink: string | undefined,
  pax: Map<string, Buffer>,
): TarEntry {
  const xattrs = new Map<string, Buffer>();
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      xattrs.set(decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(v.toString('latin1'), 'base64'));
    }
  }
  const mtime = paxNumber(pax, 'mtime', name, false) ?? (header.mtime ? header.mtime.getTime() / 1000 : undefined);
  const atime = paxNumber(pax, 'atime', name, false);
  return {
    name,
    flag,
    mode: (header.mode ?? 0) & 0o7777,
    uid: paxNumber(pax, 'uid', name, true) ?? header.uid ?? 0,
    gid: paxNumber(pax, 'gid', name, true) ?? header.gid ?? 0,
    size: paxNumber(pax, 'size', name, true) ?? header.size ?? 0,
    mtime,
    atime,
    linkpath: paxString(pax, 'linkpath') ?? longLink ?? header.linkpath ?? '',
    // tar's Header reads these only for POSIX ustar; GNU tar puts them at the same offsets
    devmajor: octal(block, 329, 8),
    devminor: octal(block, 337, 8),
    xattrs,
  };
}

function octal(block: Buffer, off: number, len: number): number {
  const s = block.toString('latin1', off, off + len).replace(/\0.*$/s, '').trim();
  return s ? parseInt(s, 8) || 0 : 0;
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

function mergePax(into: Map<string, Buffer>, from: Map<string, Buffer>): Map<string, Buffer> {
  for (const [k, v] of from) into.set(k, v);
  return into;
}

/** PAX records: "<length> <key>=<value>\n", the length counting the whole record in bytes. */
function parsePax(data: Buffer, entry: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const sp = data.indexOf(0x20, pos);
    const len = sp < 0 ? NaN : Number(data.toString('latin1', pos, sp));
    if (!Number.isInteger(len) || len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw reject(entry, `malformed PAX record at byte ${pos} of its extended header`);
    }
    const record = data.subarray(sp + 1, pos + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw reject(entry, `malformed PAX record at byte ${pos} of its extended header`);
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

function paxString(pax: Map<string, Buffer> | undefined, key: string): string | undefined {
  const v = pax?.get(key);
  return v && v.length ? cString(v) : undefined;
}

function paxNumber(pax: Map<string, Buffer>, key: string, entry: string, integer: boolean): number | undefined {
  const s = paxString(pax, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || (integer && (!Number.isSafeInteger(n) || n < 0))) {
    throw reject(entry, `invalid PAX ${key} "${s}"`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Writing

interface DirMeta {
  mode: number;
  atime: number | undefined;
  mtime: number | undefined;
}

type Warning = { count: number; example: string };

class LayerWriter {
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

  constructor(
    readonly root: string,
    readonly opts: ExtractLayerOptions,
  ) {
    // Per-entry metadata calls are synchronous: each is a few microseconds, where the promise API
    // pays a thread-pool round trip per call (a Debian base has thousands of entries: 2× slower)
    this.#lchown = opts.lchown ?? ((p, uid, gid) => fs.lchownSync(p, uid, gid));
    // most layers have no "./" entry: the root then gets the mode any implicit directory gets
    this.#dirMeta.set('', { mode: 0o755, atime: undefined, mtime: undefined });
    this.#whiteout = opts.whiteout ?? mknodWhiteout;
  }

  async write(entry: TarEntry, body: AsyncIterable<Buffer>): Promise<void> {
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

  async #file(entry: TarEntry, rel: string, abs: string, body: AsyncIterable<Buffer>): Promise<void> {
    await this.#replace(rel, abs, false);
    const fd = fs.openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      for await (const chunk of body) {
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
        this.result.bytes += chunk.length;
      }
      // chown clears setuid/setgid and security.capability: owner first, then mode, then xattrs
      await this.#chown(abs, rel, entry);
      fs.fchmodSync(fd, entry.mode);
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
    await this.#replace(rel, abs, false);
    fs.symlinkSync(entry.linkpath, abs);
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
    (await syscalls()).mknod(abs, S_IFIFO | 0o600, 0);
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

const depth = (rel: string) => (rel ? rel.split('/').length : 0);

/**
 * Cleans a tar name into path components: leading `/`, empty and `.` components go, `..` pops
 * one; a `..` with nothing left to pop would leave the layer root.
 */
function cleanPath(raw: string, entry: string, what: string): string[] {
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

function reject(entry: string, why: string): MayflyError {
  return new MayflyError('LAYER_REJECTED', `layer entry "${entry}" rejected: ${why}`, {
    hint: 'the image layer is malformed or hostile; nothing from it was kept',
    details: { entry, reason: why },
  });
}

function asMayflyError(e: unknown, dest: string, entry: string | undefined): Error {
  if (isMayflyError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  const at = entry ? ` at "${entry}"` : '';
  if (typeof err?.code === 'string' && err.code.startsWith('Z_')) {
    return new MayflyError('LAYER_REJECTED', `layer rejected: its gzip data is corrupt${at}: ${err.message}`, { cause: e, details: { entry } });
  }
  return new MayflyError('ROOTFS_FAILED', `extracting a layer into ${dest} failed${at}: ${err?.message ?? String(e)}`, {
    cause: e,
    details: { entry, code: err?.code },
  });
}

async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return fs.lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** rm -rf that also copes with directories whose mode denies the owner (0500, 0000...). */
async function removeTree(path: string): Promise<void> {
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

let syscallsModule: Promise<typeof import('../runtime/syscalls.js')> | undefined;
/** Loaded on first use only: it binds libc through koffi, which the test runner rarely needs. */
function syscalls(): Promise<typeof import('../runtime/syscalls.js')> {
  syscallsModule ??= import('../runtime/syscalls.js');
  return syscallsModule;
}

async function mknodWhiteout(path: string): Promise<void> {
  (await syscalls()).mknod(path, S_IFCHR, 0);
}
