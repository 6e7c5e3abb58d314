/**
 * A tar stream, read entry by entry: gzip recognised by its magic bytes, 512-byte framing, PAX
 * (global and per entry) and GNU long names and links applied, pre-POSIX types normalised. Read
 * here with tar's `Header` decoding each block: tar's `Parser` drops `SCHILY.xattr.*` records and
 * decodes PAX values as UTF-8, which would corrupt binary xattr values such as `security.capability`.
 * Malformed input is refused as LAYER_REJECTED naming the entry; nothing here touches the disk.
 */
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Header } from 'tar';
import { MayflyError } from '../../core/errors.js';

const BLOCK = 512;
/** PAX and GNU long-name records are held in memory; real ones are a few hundred bytes. */
const MAX_META_SIZE = 1024 * 1024;

/** Where entries go: the layer writer. `current` names the entry being worked on, for messages. */
export interface EntrySink {
  current: string | undefined;
  /** consumes as much of `body` as it needs; the reader skips the rest */
  write(entry: TarEntry, body: EntryBody): Promise<void>;
}

/** A layer refused: malformed or hostile. */
export function reject(entry: string, why: string): MayflyError {
  return new MayflyError('LAYER_REJECTED', `layer entry "${entry}" rejected: ${why}`, {
    hint: 'the image layer is malformed or hostile; nothing from it was kept',
    details: { entry, reason: why },
  });
}

/** The decompressed byte stream: gzip is recognised by its magic bytes 1f 8b. */
export async function openTarStream(stream: NodeJS.ReadableStream): Promise<AsyncIterator<Buffer>> {
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
    const gunzip = pipeline(Readable.from(replay(), { objectMode: false }), createGunzip({ chunkSize: 256 << 10 }), () => {});
    return (gunzip as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }
  return replay();
}

/** Thrown by BlockReader when the stream ends inside a header or an entry's data. */
export class TruncatedError extends Error {}

/**
 * The decompressed bytes, handed out as views of the chunks they came in. Everything that the
 * current chunk holds is served synchronously; only the step to the next chunk awaits. A layer has
 * thousands of entries of a few blocks each, and one chunk holds many of them: the reader awaits
 * about once per chunk, not once per entry (an async generator per entry body cost more than the
 * parsing itself).
 */
export class BlockReader {
  #it: AsyncIterator<Buffer>;
  #chunk: Buffer = Buffer.alloc(0);
  #off = 0;
  /** Bytes consumed so far (for messages about headers that have no name yet). */
  offset = 0;

  constructor(it: AsyncIterator<Buffer>) {
    this.#it = it;
  }

  /** Makes the current chunk non-empty; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    while (this.#off >= this.#chunk.length) {
      const r = await this.#it.next();
      if (r.done) return false;
      this.#chunk = r.value;
      this.#off = 0;
    }
    return true;
  }

  /** Up to n bytes of the current chunk (none when it is used up: see `more`). */
  #slice(n: number): Buffer {
    const len = Math.min(n, this.#chunk.length - this.#off);
    const part = this.#chunk.subarray(this.#off, this.#off + len);
    this.#off += len;
    this.offset += len;
    return part;
  }

  /** Exactly n bytes when the current chunk holds them, else undefined (then `read`). */
  readSync(n: number): Buffer | undefined {
    if (this.#chunk.length - this.#off < n || n === 0) return undefined;
    return this.#slice(n);
  }

  /** Exactly n bytes; null at a clean end of stream; TruncatedError if it ends part-way. */
  async read(n: number): Promise<Buffer | null> {
    if (n === 0) return Buffer.alloc(0);
    if (!(await this.#fill())) return null;
    const first = this.#slice(n);
    if (first.length === n) return first;
    // across chunks: a copy (headers and metadata records only; bodies are never joined)
    const parts = [first];
    let got = first.length;
    while (got < n) {
      if (!(await this.#fill())) throw new TruncatedError();
      const part = this.#slice(n - got);
      parts.push(part);
      got += part.length;
    }
    return Buffer.concat(parts, n);
  }

  /** Hands the next n bytes to `fn` as they arrive, in the views the chunks give. */
  async forEach(n: number, fn: (part: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#off >= this.#chunk.length && !(await this.#fill())) throw new TruncatedError();
      const part = this.#slice(left);
      left -= part.length;
      fn(part);
    }
  }

  /** Passes over n bytes; synchronous while they are in the current chunk. */
  skip(n: number): Promise<void> | undefined {
    const here = Math.min(n, this.#chunk.length - this.#off);
    this.#off += here;
    this.offset += here;
    return here === n ? undefined : this.forEach(n - here, () => {});
  }

  /** Reads to the end: lets gzip check its trailer and an upstream digest see every byte. */
  async drain(): Promise<void> {
    this.offset += this.#chunk.length - this.#off;
    this.#off = this.#chunk.length;
    while (await this.#fill()) {
      this.offset += this.#chunk.length - this.#off;
      this.#off = this.#chunk.length;
    }
  }
}

/**
 * An entry's data, read once by the writer (or by no one: the reader skips what is left). Data
 * the entry does not have (a header-only type, whatever its size field says) reads as empty.
 */
export class EntryBody {
  #left: number;

  constructor(
    private readonly reader: BlockReader,
    size: number,
  ) {
    this.#left = size;
  }

  /** Hands the data to `fn` piece by piece; TruncatedError when the stream ends inside it. */
  async forEach(fn: (part: Buffer) => void): Promise<void> {
    const n = this.#left;
    this.#left = 0;
    await this.reader.forEach(n, fn);
  }

  /** What no one read, passed over. */
  skipRest(): Promise<void> | undefined {
    const n = this.#left;
    this.#left = 0;
    return n ? this.reader.skip(n) : undefined;
  }
}

export const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/** One file-system entry of the tar, with PAX and GNU long-name overrides applied. */
export interface TarEntry {
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
  xattrs: ReadonlyMap<string, Buffer>;
}

/** Most entries have no PAX records and no xattrs: they share these instead of an empty Map each. */
const NONE: ReadonlyMap<string, Buffer> = new Map();

/** Types with no data, whatever the size field says (as Go's archive/tar reads them). */
const HEADER_ONLY = new Set(['1', '2', '3', '4', '5', '6']);

export async function readEntries(reader: BlockReader, writer: EntrySink): Promise<void> {
  let pax: Map<string, Buffer> | undefined;
  const globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;

  for (;;) {
    const at = reader.offset;
    writer.current = `header at byte ${at}`;
    let block: Buffer | null | undefined;
    try {
      block = reader.readSync(BLOCK) ?? (await reader.read(BLOCK));
    } catch (e) {
      if (e instanceof TruncatedError) throw reject(writer.current, 'the stream ends inside a tar header (truncated layer?)');
      throw e;
    }
    if (!block) break; // no end-of-archive blocks: tolerated, as GNU tar and Go do
    let header: Header;
    try {
      header = new Header(block);
    } catch (e) {
      // tar's Header throws on garbage numeric fields (e.g. "invalid base256 encoding"): a malformed layer, not a disk failure
      throw reject(writer.current, `malformed tar header: ${(e as Error).message}`);
    }
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
        const data = reader.readSync(size) ?? (await reader.read(size));
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

      let effective: ReadonlyMap<string, Buffer> = pax ?? NONE;
      if (globalPax.size) {
        const merged = new Map(globalPax);
        merged.delete('path');
        merged.delete('linkpath');
        for (const [k, v] of pax ?? []) merged.set(k, v);
        effective = merged;
      }
      const entry = toEntry(header, block, flag, name, longLink, effective);
      pax = longName = longLink = undefined;

      const size = HEADER_ONLY.has(flag) ? 0 : entry.size;
      const body = new EntryBody(reader, size);
      await writer.write(entry, body);
      const rest = body.skipRest(); // whatever the writer did not consume
      if (rest) await rest;
      const padding = reader.skip(padded(size) - size);
      if (padding) await padding;
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
  pax: ReadonlyMap<string, Buffer>,
): TarEntry {
  // made only for an entry that has xattrs: the rest share NONE
  let xattrs: Map<string, Buffer> | undefined;
  for (const [k, v] of pax) {
    if (k.startsWith('SCHILY.xattr.')) (xattrs ??= new Map()).set(k.slice('SCHILY.xattr.'.length), v);
    else if (k.startsWith('LIBARCHIVE.xattr.')) {
      (xattrs ??= new Map()).set(decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length)), Buffer.from(v.toString('latin1'), 'base64'));
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
    xattrs: xattrs ?? NONE,
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

function paxString(pax: ReadonlyMap<string, Buffer> | undefined, key: string): string | undefined {
  const v = pax?.get(key);
  return v && v.length ? cString(v) : undefined;
}

function paxNumber(pax: ReadonlyMap<string, Buffer>, key: string, entry: string, integer: boolean): number | undefined {
  const s = paxString(pax, key);
  if (s === undefined) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || (integer && (!Number.isSafeInteger(n) || n < 0))) {
    throw reject(entry, `invalid PAX ${key} "${s}"`);
  }
  return n;
}
