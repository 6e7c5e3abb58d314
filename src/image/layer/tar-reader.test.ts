import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { BlockReader, readEntries, type EntryBody, type EntrySink, type TarEntry } from './tar-reader.js';

// raw ustar blocks: the reader is fed exactly what a tar says, cut into chunks of any size

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function header(path: string, type: string, size: number, mtime = 1_600_000_000): Buffer {
  const h = Buffer.alloc(512);
  h.write(path, 0, 100, 'utf8');
  octal(h, 100, 8, 0o644);
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime);
  h.write(type, 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

function paxData(records: Record<string, string | Buffer>): Buffer {
  return Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), Buffer.from(v), Buffer.from('\n')]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len = String(len).length + body.length;
      return Buffer.concat([Buffer.from(String(len)), body]);
    }),
  );
}

type Part = { path: string; type?: string; body?: Buffer; mtime?: number } | { pax: Record<string, string | Buffer>; global?: boolean };

function tar(parts: Part[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    if ('pax' in p) {
      const data = paxData(p.pax);
      out.push(header('PaxHeaders/x', p.global ? 'g' : 'x', data.length), pad(data));
      continue;
    }
    const body = p.body ?? Buffer.alloc(0);
    out.push(header(p.path, p.type ?? '0', body.length, p.mtime));
    if (body.length) out.push(pad(body));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

interface Seen {
  name: string;
  flag: string;
  mtime: number | undefined;
  xattrs: Record<string, string>;
  body?: string;
}

/** Reads every entry; the bodies of names in `read` are read, the others left to the reader to skip. */
async function readAll(buf: Buffer, chunk: number, read: (name: string) => boolean = () => true): Promise<Seen[]> {
  const seen: Seen[] = [];
  const sink: EntrySink = {
    current: undefined,
    async write(entry: TarEntry, body: EntryBody) {
      const s: Seen = { name: entry.name, flag: entry.flag, mtime: entry.mtime, xattrs: Object.fromEntries([...entry.xattrs].map(([k, v]) => [k, v.toString()])) };
      if (read(entry.name)) {
        const parts: Buffer[] = [];
        // the views are only valid while they are handed over: a writer copies what it keeps
        await body.forEach((p) => parts.push(Buffer.from(p)));
        s.body = Buffer.concat(parts).toString('hex');
      }
      seen.push(s);
    },
  };
  await readEntries(new BlockReader(chunks(buf, chunk)), sink);
  return seen;
}

const CHUNKS = [1, 100, 511, 512, 513, 700, 4096, 1 << 20];

describe('readEntries', () => {
  const big = randomBytes(70_000);
  const small = randomBytes(3);
  const layer = tar([
    { path: 'a/', type: '5' },
    { path: 'a/big', body: big },
    { path: 'a/small', body: small },
    { path: 'a/empty' },
    { path: 'a/link', type: '2' },
    { path: 'a/last', body: Buffer.from('end') },
  ]);

  it.each(CHUNKS)('reads the same entries and bodies whatever the chunks (%i bytes)', async (chunk) => {
    expect(await readAll(layer, chunk)).toEqual([
      { name: 'a/', flag: '5', mtime: 1_600_000_000, xattrs: {}, body: '' },
      { name: 'a/big', flag: '0', mtime: 1_600_000_000, xattrs: {}, body: big.toString('hex') },
      { name: 'a/small', flag: '0', mtime: 1_600_000_000, xattrs: {}, body: small.toString('hex') },
      { name: 'a/empty', flag: '0', mtime: 1_600_000_000, xattrs: {}, body: '' },
      { name: 'a/link', flag: '2', mtime: 1_600_000_000, xattrs: {}, body: '' },
      { name: 'a/last', flag: '0', mtime: 1_600_000_000, xattrs: {}, body: Buffer.from('end').toString('hex') },
    ]);
  });

  it.each(CHUNKS)('skips the bodies a writer does not read (%i-byte chunks)', async (chunk) => {
    const seen = await readAll(layer, chunk, (name) => name === 'a/last');
    expect(seen.map((s) => s.name)).toEqual(['a/', 'a/big', 'a/small', 'a/empty', 'a/link', 'a/last']);
    expect(seen.at(-1)!.body).toBe(Buffer.from('end').toString('hex'));
  });

  it.each([1, 511, 700])('refuses a layer that ends inside a body, read or skipped (%i-byte chunks)', async (chunk) => {
    const cut = layer.subarray(0, 512 + 512 + 40_000);
    for (const read of [() => true, () => false]) {
      const e = await readAll(cut, chunk, read).catch((err: unknown) => err);
      expect(isMayflyError(e, 'LAYER_REJECTED')).toBe(true);
      expect((e as Error).message).toMatch(/"a\/big".*ends inside this entry/);
    }
  });

  it('applies global PAX records to every later entry, entry records over them, never a global path', async () => {
    const seen = await readAll(
      tar([
        { path: 'before' },
        { pax: { mtime: '1700000000.5', 'SCHILY.xattr.user.g': 'global', path: 'not-a-name' }, global: true },
        { path: 'one' },
        { pax: { mtime: '1700000001', 'SCHILY.xattr.user.e': 'entry' } },
        { path: 'two' },
        { path: 'three' },
        { pax: { mtime: '' }, global: true },
        { path: 'four' },
      ]),
      700,
    );
    expect(seen.map(({ name, mtime, xattrs }) => ({ name, mtime, xattrs }))).toEqual([
      { name: 'before', mtime: 1_600_000_000, xattrs: {} },
      { name: 'one', mtime: 1_700_000_000.5, xattrs: { 'user.g': 'global' } },
      { name: 'two', mtime: 1_700_000_001, xattrs: { 'user.g': 'global', 'user.e': 'entry' } },
      // an entry's records are its own: none carried over to the next
      { name: 'three', mtime: 1_700_000_000.5, xattrs: { 'user.g': 'global' } },
      // an empty global value removes the global record
      { name: 'four', mtime: 1_600_000_000, xattrs: { 'user.g': 'global' } },
    ]);
  });

  it('gives an entry without PAX records no xattrs after one with them', async () => {
    const seen = await readAll(tar([{ pax: { 'SCHILY.xattr.user.a': 'x' } }, { path: 'with' }, { path: 'without' }]), 512);
    expect(seen.map((s) => s.xattrs)).toEqual([{ 'user.a': 'x' }, {}]);
  });
});
