import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { extractLayer, type ExtractLayerOptions, type ExtractLayerResult } from './extract-layer.js';
import { lgetxattr } from '../../sys/xattr.js';

const isRoot = process.getuid?.() === 0;

function canMknodWhiteout(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'mknod-probe-'));
  try {
    return spawnSync('mknod', [join(dir, 'w'), 'c', '0', '0']).status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// makeTar: raw ustar headers, so tests can say exactly what a hostile layer says

interface TarSpec {
  path: string;
  /** ustar typeflag: 0 file, 1 hard link, 2 symlink, 3 char dev, 4 block dev, 5 dir, 6 fifo, L long name */
  type?: '0' | '1' | '2' | '3' | '4' | '5' | '6' | 'L' | 'S';
  body?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  /** PAX records for this entry (an 'x' header in front of it). */
  pax?: Record<string, string | Buffer>;
}

function octal(buf: Buffer, off: number, len: number, n: number): void {
  buf.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len, 'latin1');
}

function header(spec: { path: string; type: string; size: number; mode: number; uid: number; gid: number; mtime: number; linkpath: string; devmajor: number; devminor: number }): Buffer {
  const h = Buffer.alloc(512);
  h.write(spec.path, 0, 100, 'utf8');
  octal(h, 100, 8, spec.mode);
  octal(h, 108, 8, spec.uid);
  octal(h, 116, 8, spec.gid);
  octal(h, 124, 12, spec.size);
  octal(h, 136, 12, spec.mtime);
  h.write(spec.type, 156, 1, 'latin1');
  h.write(spec.linkpath, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write('root', 265, 32);
  h.write('root', 297, 32);
  octal(h, 329, 8, spec.devmajor);
  octal(h, 337, 8, spec.devminor);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return h;
}

function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function block(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function makeTar(entries: TarSpec[], { end = true } = {}): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.path.endsWith('/') ? '5' : '0');
    const body = Buffer.from(e.body ?? '');
    const pax = { ...e.pax };
    if (Buffer.byteLength(e.path) > 100) pax.path ??= e.path;
    if (Buffer.byteLength(e.linkpath ?? '') > 100) pax.linkpath ??= e.linkpath!;
    const common = { mode: e.mode ?? (type === '5' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: e.mtime ?? 1_600_000_000, devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0 };
    if (Object.keys(pax).length) {
      const data = Buffer.concat(Object.entries(pax).map(([k, v]) => paxRecord(k, v)));
      out.push(header({ ...common, path: 'PaxHeaders/x', type: 'x', size: data.length, linkpath: '' }), block(data));
    }
    out.push(header({ ...common, path: e.path.slice(0, 100), type, size: body.length, linkpath: (e.linkpath ?? '').slice(0, 100) }));
    if (body.length) out.push(block(body));
  }
  if (end) out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** A stream that hands the tar over in small, uneven chunks, as a network download would. */
function streamOf(buf: Buffer, chunk = 700): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts);
}

// ---------------------------------------------------------------------------------------------

let base: string;
let dest: string;
let whiteouts: string[];
let warnings: string[];

beforeEach(() => {
  base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE ?? tmpdir(), 'layer-extract-'));
  dest = join(base, 'layers', 'l1');
  whiteouts = [];
  warnings = [];
});

afterEach(() => {
  // tests leave directories such as 0500 behind, which an unprivileged owner cannot empty
  const open = (dir: string): void => {
    chmodSync(dir, 0o700);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) open(join(dir, e.name));
  };
  open(base);
  rmSync(base, { recursive: true, force: true });
});

/** Options for the unprivileged-safe path: recorded whiteouts (an empty file), no chown. */
function testOpts(over: Partial<ExtractLayerOptions> = {}): ExtractLayerOptions {
  return {
    chown: 'skip',
    onWarning: (m) => warnings.push(m),
    whiteout: (p) => {
      whiteouts.push(p.slice(dest.length + '.partial-'.length).replace(/^[^/]*\//, ''));
      writeFileSync(p, '');
    },
    ...over,
  };
}

function extract(entries: TarSpec[] | Buffer, over: Partial<ExtractLayerOptions> = {}): Promise<ExtractLayerResult> {
  const tar = Buffer.isBuffer(entries) ? entries : makeTar(entries);
  return extractLayer(streamOf(tar), dest, testOpts(over));
}

/** Everything under base, so tests can prove nothing was written elsewhere. */
function tree(dir = base, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const rel = prefix + name;
    out.push(rel);
    const st = lstatSync(join(dir, name));
    if (st.isDirectory()) out.push(...tree(join(dir, name), `${rel}/`));
  }
  return out;
}

const mode = (rel: string) => lstatSync(join(dest, rel)).mode & 0o7777;

async function expectRejected(p: Promise<unknown>, entry: string, why: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isMayflyError(e, 'LAYER_REJECTED'), `expected LAYER_REJECTED, got ${String(e)}`).toBe(true);
  expect((e as Error).message).toContain(`"${entry}"`);
  expect((e as Error).message).toMatch(why);
  // no dest, no partial directory, nothing anywhere else
  expect(tree()).toEqual(['layers']);
}

// ---------------------------------------------------------------------------------------------

describe('extractLayer: ordinary content', () => {
  it('extracts files, directories, modes and mtimes', async () => {
    const r = await extract([
      { path: 'etc/', mode: 0o755, mtime: 1_500_000_000 },
      { path: 'etc/hosts', body: '127.0.0.1 localhost\n', mode: 0o644, mtime: 1_500_000_001 },
      { path: 'etc/shadow', body: 'root:*:1::::::\n', mode: 0o640 },
      { path: 'bin/sh', body: '#!\n', mode: 0o755 }, // parent "bin" not listed
      { path: 'empty', body: '', mode: 0o600 },
    ]);
    expect(readFileSync(join(dest, 'etc/hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(mode('etc')).toBe(0o755);
    expect(mode('etc/hosts')).toBe(0o644);
    expect(mode('etc/shadow')).toBe(0o640);
    expect(mode('bin')).toBe(0o755);
    expect(mode('bin/sh')).toBe(0o755);
    expect(mode('empty')).toBe(0o600);
    expect(statSync(join(dest, 'etc/hosts')).mtimeMs).toBe(1_500_000_001_000);
    expect(statSync(join(dest, 'etc')).mtimeMs).toBe(1_500_000_000_000);
    expect(r).toEqual({ files: 5, bytes: 20 + 15 + 3, whiteouts: 0, skipped: [] });
    expect(tree()).toEqual(['layers', 'layers/l1', 'layers/l1/bin', 'layers/l1/bin/sh', 'layers/l1/empty', 'layers/l1/etc', 'layers/l1/etc/hosts', 'layers/l1/etc/shadow']);
  });

  it.each([
    ['without a "./" entry', [] as TarSpec[], 0o755],
    ['with a "./" entry', [{ path: './', mode: 0o750 }], 0o750],
  ])('gives the layer root a mode %s', async (_, root, want) => {
    const r = await extract([...root, { path: 'f', body: 'f' }]);
    expect(statSync(dest).mode & 0o7777).toBe(want);
    expect(r.files).toBe(1);
  });

  it('gives a directory listed after its children its mode and mtime', async () => {
    await extract([
      { path: 'late/sub/file', body: 'x' },
      { path: 'late/sub/', mode: 0o500, mtime: 1_400_000_000 },
      { path: 'late/', mode: 0o750, mtime: 1_400_000_001 },
    ]);
    expect(mode('late')).toBe(0o750);
    expect(mode('late/sub')).toBe(0o500);
    expect(statSync(join(dest, 'late')).mtimeMs).toBe(1_400_000_001_000);
    expect(statSync(join(dest, 'late/sub')).mtimeMs).toBe(1_400_000_000_000);
    expect(readFileSync(join(dest, 'late/sub/file'), 'utf8')).toBe('x');
  });

  it.each([
    ['setuid file', { path: 'usr/bin/su', body: 'su', mode: 0o4755 }, 0o4755],
    ['setgid file', { path: 'usr/bin/wall', body: 'w', mode: 0o2755 }, 0o2755],
    ['sticky directory', { path: 'tmp/', mode: 0o1777 }, 0o1777],
    ['setgid directory', { path: 'srv/', mode: 0o2775 }, 0o2775],
    ['no permissions at all', { path: 'locked', body: 'x', mode: 0o000 }, 0o000],
  ] as const)('keeps the special bits: %s', async (_, spec, want) => {
    await extract([spec]);
    expect(mode(spec.path)).toBe(want);
  });

  it('keeps setuid after chowning (chown clears it, so the mode comes after)', async () => {
    const calls: string[] = [];
    await extract([{ path: 'ping', body: 'p', mode: 0o4755, uid: 0, gid: 0 }], {
      chown: 'keep',
      lchown: async (p, uid, gid) => {
        calls.push(`${p.split('/').pop()} ${uid}:${gid}`);
      },
    });
    expect(calls).toEqual(['ping 0:0']);
    expect(mode('ping')).toBe(0o4755);
  });

  it('extracts symlinks, absolute and dangling ones too, without following them', async () => {
    const r = await extract([
      { path: 'usr/lib/libc.so', body: 'elf' },
      { path: 'lib', type: '2', linkpath: 'usr/lib' },
      { path: 'etc/mtab', type: '2', linkpath: '/proc/self/mounts' },
      { path: 'dangling', type: '2', linkpath: '../../../../nowhere' },
    ]);
    expect(readlinkSync(join(dest, 'lib'))).toBe('usr/lib');
    expect(readlinkSync(join(dest, 'etc/mtab'))).toBe('/proc/self/mounts');
    expect(readlinkSync(join(dest, 'dangling'))).toBe('../../../../nowhere');
    expect(r.files).toBe(4);
  });

  it('extracts hard links to entries already extracted, with or without a leading slash', async () => {
    const r = await extract([
      { path: 'bin/busybox', body: 'bb', mode: 0o755 },
      { path: 'bin/ls', type: '1', linkpath: 'bin/busybox' },
      { path: 'bin/cat', type: '1', linkpath: '/bin/busybox' },
      { path: 'bin/sym', type: '2', linkpath: 'busybox' },
      { path: 'bin/symlink-link', type: '1', linkpath: 'bin/sym' }, // links the symlink itself
    ]);
    const ino = statSync(join(dest, 'bin/busybox')).ino;
    expect(statSync(join(dest, 'bin/ls')).ino).toBe(ino);
    expect(statSync(join(dest, 'bin/cat')).ino).toBe(ino);
    expect(lstatSync(join(dest, 'bin/symlink-link')).isSymbolicLink()).toBe(true);
    expect(r.files).toBe(5);
    expect(r.bytes).toBe(2);
  });

  it('reads PAX long names and link targets, and GNU long names', async () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(80)}.txt`;
    const gnuLong = `gnu/${'g'.repeat(150)}`;
    const gnuData = Buffer.from(`${gnuLong}\0`);
    const tar = Buffer.concat([
      makeTar(
        [
          { path: long, body: 'long' },
          { path: 'link-to-long', type: '2', linkpath: `/${long}` },
          { path: 'hard-to-long', type: '1', linkpath: long },
          { path: 'utf8/héllo wörld ✓', body: 'u', pax: { path: 'utf8/héllo wörld ✓' } },
        ],
        { end: false },
      ),
      makeTar([{ path: '././@LongLink', type: 'L', body: gnuData }], { end: false }),
      makeTar([{ path: gnuLong.slice(0, 100), body: 'gnu' }]),
    ]);
    await extract(tar);
    expect(readFileSync(join(dest, long), 'utf8')).toBe('long');
    expect(readlinkSync(join(dest, 'link-to-long'))).toBe(`/${long}`);
    expect(statSync(join(dest, 'hard-to-long')).ino).toBe(statSync(join(dest, long)).ino);
    expect(readFileSync(join(dest, 'utf8/héllo wörld ✓'), 'utf8')).toBe('u');
    expect(readFileSync(join(dest, gnuLong), 'utf8')).toBe('gnu');
    expect(existsSync(join(dest, gnuLong.slice(0, 100)))).toBe(false);
  });

  it('takes mtime and ownership from PAX records', async () => {
    const calls: string[] = [];
    await extract([{ path: 'big-ids', body: 'x', pax: { uid: '3000000000', gid: '70000', mtime: '1234567890.5' } }], {
      chown: 'keep',
      lchown: async (_p, uid, gid) => {
        calls.push(`${uid}:${gid}`);
      },
    });
    expect(calls).toEqual(['3000000000:70000']);
    expect(statSync(join(dest, 'big-ids')).mtimeMs).toBe(1_234_567_890_500);
  });

  it('recognises gzip by its magic bytes', async () => {
    const body = randomBytes(200_000); // several gzip output chunks
    const r = await extract(gzipSync(makeTar([{ path: 'a/b', body }, { path: 'c', body: 'c' }])));
    expect(readFileSync(join(dest, 'a/b')).equals(body)).toBe(true);
    expect(r.bytes).toBe(200_001);
  });

  it('accepts a tar without end-of-archive blocks, and one that is just the end blocks', async () => {
    await extract(makeTar([{ path: 'x', body: 'x' }], { end: false }));
    expect(readFileSync(join(dest, 'x'), 'utf8')).toBe('x');
    rmSync(dest, { recursive: true });
    const r = await extract(Buffer.alloc(1024));
    expect(r).toEqual({ files: 0, bytes: 0, whiteouts: 0, skipped: [] });
    expect(readdirSync(dest)).toEqual([]);
  });

  it('lands absolute names inside the layer root', async () => {
    await extract([{ path: '/etc/x', body: 'inside' }, { path: '//./etc/./y', body: 'y' }]);
    expect(readFileSync(join(dest, 'etc/x'), 'utf8')).toBe('inside');
    expect(readFileSync(join(dest, 'etc/y'), 'utf8')).toBe('y');
    expect(tree()).toEqual(['layers', 'layers/l1', 'layers/l1/etc', 'layers/l1/etc/x', 'layers/l1/etc/y']);
  });

  it('lets ".." move around inside the root', async () => {
    await extract([{ path: 'a/b/../c', body: 'c' }]);
    expect(readFileSync(join(dest, 'a/c'), 'utf8')).toBe('c');
  });

  it('replaces an earlier entry of the same name instead of writing through it', async () => {
    const outside = join(base, 'outside');
    writeFileSync(outside, 'untouched');
    await extract([
      { path: 'x', type: '2', linkpath: outside },
      { path: 'x', body: 'a regular file now' },
      { path: 'd/', mode: 0o700 },
      { path: 'd/inner', body: '1' },
      { path: 'd', type: '2', linkpath: '/' }, // the directory goes, with its content
      { path: 'f', body: 'file' },
      { path: 'f/', mode: 0o711 },
    ]);
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    expect(lstatSync(join(dest, 'x')).isFile()).toBe(true);
    expect(readFileSync(join(dest, 'x'), 'utf8')).toBe('a regular file now');
    expect(readlinkSync(join(dest, 'd'))).toBe('/');
    expect(lstatSync(join(dest, 'f')).isDirectory()).toBe(true);
    expect(mode('f')).toBe(0o711);
  });

  it('creates FIFOs', async () => {
    await extract([{ path: 'run/initctl', type: '6', mode: 0o600 }]);
    expect(lstatSync(join(dest, 'run/initctl')).isFIFO()).toBe(true);
    expect(mode('run/initctl')).toBe(0o600);
  });
});

// large bodies span many chunks of the decompressed stream; other entries come between them
describe('extractLayer: large files', () => {
  const big = (seed: number, size = 300_000) => Buffer.alloc(size, seed);

  it('writes them whole, with their modes, owners and mtimes, beside small ones', async () => {
    const uid = process.getuid!();
    const gid = process.getgid!();
    const su = randomBytes(1 << 20);
    const r = await extractLayer(
      streamOf(
        makeTar([
          { path: 'big/a', body: big(1), mode: 0o644, uid, gid, mtime: 1_500_000_001 },
          { path: 'big/small', body: 's', mode: 0o600, uid, gid },
          { path: 'big/su', body: su, mode: 0o4755, uid, gid, mtime: 1_500_000_002 },
          { path: 'big/open', body: big(2), mode: 0o666, uid, gid },
        ]),
        64 << 10,
      ),
      dest,
      { chown: 'keep' },
    );
    expect(r).toEqual({ files: 4, bytes: 300_000 + 1 + su.length + 300_000, whiteouts: 0, skipped: [] });
    expect(readFileSync(join(dest, 'big/a')).equals(big(1))).toBe(true);
    expect(readFileSync(join(dest, 'big/su')).equals(su)).toBe(true);
    expect([mode('big/a'), mode('big/su'), mode('big/open'), mode('big/small')]).toEqual([0o644, 0o4755, 0o666, 0o600]);
    expect(statSync(join(dest, 'big/a')).mtimeMs).toBe(1_500_000_001_000);
    expect(statSync(join(dest, 'big/su')).mtimeMs).toBe(1_500_000_002_000);
  });

  it.runIf(isRoot)('gives them their owners (root)', async () => {
    await extractLayer(streamOf(makeTar([{ path: 'f', body: big(3), uid: 1000, gid: 1001, mode: 0o4750 }])), dest, { chown: 'keep' });
    const st = lstatSync(join(dest, 'f'));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1001, 0o4750]);
  });

  it('lets a later entry replace one, and hard-link one', async () => {
    await extract([
      { path: 'f', body: big(4) },
      { path: 'f', body: 'later' },
      { path: 'g', body: big(5), mtime: 1_500_000_003 },
      { path: 'h', type: '1', linkpath: 'g' },
      { path: 'd', body: big(6) },
      { path: 'd/', mode: 0o750 },
    ]);
    expect(readFileSync(join(dest, 'f'), 'utf8')).toBe('later');
    expect(readFileSync(join(dest, 'h')).equals(big(5))).toBe(true);
    expect(statSync(join(dest, 'h')).mtimeMs).toBe(1_500_000_003_000);
    expect(lstatSync(join(dest, 'd')).isDirectory()).toBe(true);
    expect(mode('d')).toBe(0o750);
  });

  it('sets the xattrs of a large file too', async () => {
    await extract([{ path: 'x', body: big(7), pax: { 'SCHILY.xattr.user.big': 'yes' } }]);
    expect(lgetxattr(join(dest, 'x'), 'user.big')?.toString()).toBe('yes');
    expect(readFileSync(join(dest, 'x')).equals(big(7))).toBe(true);
  });

  it('refuses a layer that ends inside one, leaving nothing', async () => {
    const tar = makeTar([{ path: 'a', body: big(8) }, { path: 'b', body: big(9, 2 << 20) }]);
    await expectRejected(extract(tar.subarray(0, 512 + 300_032 + 512 + (1 << 20))), 'b', /ends inside this entry/);
  });

  it.runIf(isRoot)('fails with the entry named when the disk is full, leaving nothing (root)', async () => {
    const mnt = join(base, 'small');
    mkdirSync(mnt);
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
    try {
      const e = await extractLayer(streamOf(makeTar([{ path: 'ok', body: big(10) }, { path: 'full', body: big(11, 4 << 20) }, { path: 'after', body: 'x' }])), join(mnt, 'l1'), { chown: 'keep' }).catch((err: unknown) => err);
      expect(isMayflyError(e, 'ROOTFS_FAILED'), String(e)).toBe(true);
      expect((e as Error).message).toMatch(/at "full".*ENOSPC/);
      expect(readdirSync(mnt)).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });
});

describe('extractLayer: hostile entries', () => {
  it.each<[string, TarSpec[], string, RegExp]>([
    ['".." climbing out', [{ path: 'ok', body: 'fine' }, { path: '../../etc/x', body: 'pwned' }], '../../etc/x', /climbs out/],
    ['".." after a directory', [{ path: 'a/../../x', body: 'pwned' }], 'a/../../x', /climbs out/],
    ['a symlink to / then a file through it', [{ path: 'evil', type: '2', linkpath: '/' }, { path: 'evil/etc/passwd', body: 'pwned' }], 'evil/etc/passwd', /"evil", a symlink/],
    ['a relative escaping symlink then a file through it', [{ path: 'a', type: '2', linkpath: '../../..' }, { path: 'a/x', body: 'pwned' }], 'a/x', /"a", a symlink/],
    ['a symlink to a directory inside, then a file through it', [{ path: 'real/', mode: 0o755 }, { path: 'alias', type: '2', linkpath: 'real' }, { path: 'alias/x', body: 'x' }], 'alias/x', /"alias", a symlink/],
    ['a nested symlink component', [{ path: 'a/b/', mode: 0o755 }, { path: 'a/b/c', type: '2', linkpath: '/etc' }, { path: 'a/b/c/d/e', body: 'x' }], 'a/b/c/d/e', /"a\/b\/c", a symlink/],
    ['a directory through a symlink', [{ path: 'evil', type: '2', linkpath: '/tmp' }, { path: 'evil/newdir/', mode: 0o777 }], 'evil/newdir/', /a symlink/],
    ['a hard link through a symlink', [{ path: 'evil', type: '2', linkpath: '/' }, { path: 'h', type: '1', linkpath: 'evil/etc/passwd' }], 'h', /a symlink/],
    ['a hard link to /etc/passwd', [{ path: 'passwd', type: '1', linkpath: '/etc/passwd' }], 'passwd', /not in this layer/],
    ['a hard link climbing out', [{ path: 'passwd', type: '1', linkpath: '../../../../etc/passwd' }], 'passwd', /climbs out/],
    ['a hard link to a file not yet extracted', [{ path: 'early', type: '1', linkpath: 'later' }, { path: 'later', body: 'x' }], 'early', /not \(yet\) in this layer/],
    ['a hard link to a directory', [{ path: 'dir/', mode: 0o755 }, { path: 'h', type: '1', linkpath: 'dir' }], 'h', /directory/],
    ['a whiteout through a symlink', [{ path: 'evil', type: '2', linkpath: '/etc' }, { path: 'evil/.wh.passwd' }], 'evil/.wh.passwd', /a symlink/],
    ['an opaque marker through a symlink', [{ path: 'evil', type: '2', linkpath: '/etc' }, { path: 'evil/.wh..wh..opq' }], 'evil/.wh..wh..opq', /a symlink/],
    ['a file under a file', [{ path: 'f', body: 'x' }, { path: 'f/g', body: 'y' }], 'f/g', /not a directory/],
    ['a file naming the root', [{ path: './', type: '0', body: 'x' }], './', /only a directory/],
  ])('refuses %s, leaving nothing behind', async (_, entries, entry, why) => {
    await expectRejected(extract(entries), entry, why);
  });

  it('refuses a hard link through a symlink even when the target exists outside', async () => {
    writeFileSync(join(base, 'secret'), 's');
    const up = '../'.repeat(3);
    await expect(extract([{ path: 'l', type: '2', linkpath: `${base}` }, { path: 'h', type: '1', linkpath: 'l/secret' }])).rejects.toMatchObject({ code: 'LAYER_REJECTED' });
    await expect(extract([{ path: 'h', type: '1', linkpath: `${up}secret` }])).rejects.toMatchObject({ code: 'LAYER_REJECTED' });
    expect(tree()).toEqual(['layers', 'secret']);
  });

  it('refuses a corrupt header, a truncated layer and corrupt gzip', async () => {
    const good = makeTar([{ path: 'a', body: 'a'.repeat(2000) }, { path: 'b', body: 'b' }]);
    const corrupt = Buffer.from(good);
    corrupt.writeUInt8(corrupt.readUInt8(2570) ^ 0xff, 2570); // in b's header
    await expectRejected(extract(corrupt), 'header at byte 2560', /checksum/);
    await expectRejected(extract(good.subarray(0, 1000)), 'a', /ends inside this entry/);
    await expectRejected(extract(good.subarray(0, 512 * 5 + 100)), 'header at byte 2560', /inside a tar header/);
    // a garbage header whose checksum still adds up (as decompressed noise can): its size field in base-256 form, malformed
    const noise = Buffer.from(good);
    noise.fill(0x81, 2560 + 124, 2560 + 136); // a base-256 number starts with 0x80 or 0xff
    let sum = 0;
    noise.fill(0x20, 2560 + 148, 2560 + 156);
    for (let i = 2560; i < 3072; i++) sum += noise[i]!;
    noise.write(`${sum.toString(8).padStart(6, '0')}\0 `, 2560 + 148, 'latin1');
    await expectRejected(extract(noise), 'header at byte 2560', /malformed tar header/);
    const gz = gzipSync(good);
    const e = await extract(gz.subarray(0, gz.length - 20)).catch((err: unknown) => err);
    expect(isMayflyError(e, 'LAYER_REJECTED'), String(e)).toBe(true);
    expect(tree()).toEqual(['layers']);
  });

  it('refuses a malformed PAX record and an oversized one', async () => {
    const tar = makeTar([{ path: 'p', body: 'x', pax: { path: 'p' } }]);
    const bad = Buffer.from(tar);
    bad.write('99', 512, 'latin1'); // the record length no longer fits
    await expectRejected(extract(bad), 'PaxHeaders/x', /malformed PAX/);
    const huge = makeTar([{ path: 'p', body: 'x', pax: { 'SCHILY.xattr.user.big': Buffer.alloc(1024 * 1024 + 1, 0x61) } }]);
    await expectRejected(extract(huge), 'PaxHeaders/x', /metadata record of \d+ bytes/);
  });

  it('refuses a dest that exists, touching nothing', async () => {
    const e = await extract([{ path: 'x', body: 'x' }]).then(() => extract([{ path: 'y', body: 'y' }])).catch((err: unknown) => err);
    expect(isMayflyError(e, 'INVALID_OPTION')).toBe(true);
    expect(readdirSync(dest)).toEqual(['x']);
  });

  it('removes the partial directory, with read-only directories in it, when a later entry fails', async () => {
    await expectRejected(
      extract([
        { path: 'ro/', mode: 0o500 },
        { path: 'ro/file', body: 'x', mode: 0o400 },
        { path: 'big', body: randomBytes(100_000) },
        { path: '/../../../../x', body: 'pwned' },
      ]),
      '/../../../../x',
      /climbs out/,
    );
  });

  it('fails a pipeline feeding it with the same error, as a pull pipes layers in', async () => {
    const tar = makeTar([{ path: 'a', body: randomBytes(300_000) }, { path: '../x', body: 'x' }, { path: 'b', body: randomBytes(300_000) }]);
    const pass = new PassThrough();
    const [feeding, extracting] = await Promise.allSettled([pipeline(streamOf(tar, 16_384), pass), extractLayer(pass, dest, testOpts())]);
    for (const r of [feeding, extracting]) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'LAYER_REJECTED' });
    }
    expect(tree()).toEqual(['layers']);
  });

  it('cleans up when the input fails before its first byte', async () => {
    const failing = new Readable({ read: () => failing.destroy(new Error('no route to host')) });
    await expect(extractLayer(failing, dest, testOpts())).rejects.toThrow(/no route to host/);
    expect(tree()).toEqual(['layers']);
  });

  it('fails (and cleans up) when the input stream fails', async () => {
    const tar = makeTar([{ path: 'a', body: randomBytes(5000) }]);
    const failing = Readable.from(
      (async function* () {
        yield tar.subarray(0, 1024);
        throw new Error('connection reset');
      })(),
    );
    await expect(extractLayer(failing, dest, testOpts())).rejects.toThrow(/connection reset/);
    expect(tree()).toEqual(['layers']);
  });
});

describe('extractLayer: device nodes and whiteouts', () => {
  it('skips and reports character and block devices', async () => {
    const r = await extract([
      { path: 'dev/', mode: 0o755 },
      { path: 'dev/null', type: '3', devmajor: 1, devminor: 3, mode: 0o666 },
      { path: 'dev/sda', type: '4', devmajor: 8, devminor: 0, mode: 0o660 },
      { path: 'dev/zero', type: '3', devmajor: 1, devminor: 5, mode: 0o666 },
    ]);
    expect(r.skipped).toEqual(['dev/null', 'dev/sda', 'dev/zero']);
    expect(readdirSync(join(dest, 'dev'))).toEqual([]);
    expect(r.files).toBe(1);
  });

  it('turns .wh.NAME into a whiteout at NAME and does not write the .wh. file', async () => {
    const r = await extract([
      { path: 'etc/', mode: 0o755 },
      { path: 'etc/.wh.motd' },
      { path: 'usr/share/.wh.doc', type: '5' }, // parent not listed, whiteout of a directory
      { path: '.wh.top' },
    ]);
    expect(whiteouts.sort()).toEqual(['.wh.top', 'etc/.wh.motd', 'usr/share/.wh.doc'].map((p) => p.replace('.wh.', '')).sort());
    expect(r.whiteouts).toBe(3);
    expect(existsSync(join(dest, 'etc/.wh.motd'))).toBe(false);
    expect(existsSync(join(dest, '.wh.top'))).toBe(false);
    expect(r.files).toBe(1);
  });

  it('follows OCI for a whiteout and a file of the same name in one layer', async () => {
    const r = await extract([
      { path: 'kept', body: 'added by this layer' },
      { path: '.wh.kept' }, // a whiteout applies to lower layers only
      { path: '.wh.readded' },
      { path: 'readded', body: 'new' }, // replaces the whiteout
    ]);
    expect(readFileSync(join(dest, 'kept'), 'utf8')).toBe('added by this layer');
    expect(readFileSync(join(dest, 'readded'), 'utf8')).toBe('new');
    expect(r.whiteouts).toBe(1);
    expect(warnings).toEqual([expect.stringMatching(/ignored whiteouts .*1 entry, e.g. "kept"/)]);
  });

  it('marks a directory opaque with user.overlay.opaque=y, creating it if needed', async () => {
    const r = await extract([
      { path: 'var/', mode: 0o755 },
      { path: 'var/cache/.wh..wh..opq' },
      { path: 'var/cache/', mode: 0o750 }, // listed after its marker: keeps the xattr
      { path: 'var/lib/', mode: 0o755 },
      { path: 'var/lib/.wh..wh..opq' },
      { path: 'var/lib/apt', body: 'a' },
      { path: 'new/deep/.wh..wh..opq' },
    ]);
    for (const d of ['var/cache', 'var/lib', 'new/deep']) expect(lgetxattr(join(dest, d), 'user.overlay.opaque')?.toString(), d).toBe('y');
    expect(lgetxattr(join(dest, 'var'), 'user.overlay.opaque')).toBeUndefined();
    expect(existsSync(join(dest, 'var/cache/.wh..wh..opq'))).toBe(false);
    expect(mode('var/cache')).toBe(0o750);
    expect(r.whiteouts).toBe(3);
  });

  it('skips aufs bookkeeping entries', async () => {
    const r = await extract([{ path: '.wh..wh.plnk/', mode: 0o700 }, { path: '.wh..wh.plnk/123.456', body: 'x' }, { path: 'a', body: 'a' }]);
    expect(r.skipped).toEqual(['.wh..wh.plnk', '.wh..wh.plnk/123.456']);
    expect(readdirSync(dest)).toEqual(['a']);
  });

  it('refuses a whiteout with no name', async () => {
    await expectRejected(extract([{ path: 'etc/.wh.' }]), 'etc/.wh.', /whiteout for ""/);
  });

  // Linux >= 5.8 lets anyone mknod the 0/0 whiteout device; older kernels only root (in a userns)
  it.runIf(canMknodWhiteout())('creates real 0/0 character devices for whiteouts', async () => {
    const r = await extractLayer(
      streamOf(makeTar([{ path: 'etc/.wh.passwd' }, { path: 'gone', type: '3', devmajor: 0, devminor: 0 }])),
      dest,
      { chown: isRoot ? 'keep' : 'skip' },
    );
    for (const p of ['etc/passwd', 'gone']) {
      const st = lstatSync(join(dest, p));
      expect(st.isCharacterDevice(), p).toBe(true);
      expect(st.rdev, p).toBe(0);
    }
    expect(r.whiteouts).toBe(2);
  });

  it('fails with a hint where whiteouts cannot be made, leaving nothing', async () => {
    const e = await extract([{ path: 'a', body: 'a' }, { path: '.wh.x' }], {
      whiteout: () => {
        throw Object.assign(new Error('mknod(x, 0o20000, 0) failed: EPERM'), { code: 'EPERM' });
      },
    }).catch((err: unknown) => err);
    expect(isMayflyError(e, 'ROOTFS_FAILED'), String(e)).toBe(true);
    expect((e as Error).message).toMatch(/whiteout for layer entry ".wh.x".*EPERM[\s\S]*user namespace/);
    expect(tree()).toEqual(['layers']);
  });
});

describe('extractLayer: ownership', () => {
  const owned: TarSpec[] = [
    { path: 'home/', uid: 0, gid: 0 },
    { path: 'home/app/', uid: 1000, gid: 1000, mode: 0o700 },
    { path: 'home/app/data', body: 'd', uid: 1000, gid: 1001 },
    { path: 'home/app/link', type: '2', linkpath: 'data', uid: 1000, gid: 1002 },
  ];

  it('keep: chowns every entry, symlinks included, without following them', async () => {
    const calls: string[] = [];
    await extract(owned, {
      chown: 'keep',
      lchown: async (p, uid, gid) => {
        calls.push(`${p.replace(/^.*\.partial-[^/]*\//, '')} ${uid}:${gid}`);
      },
    });
    expect(calls).toEqual(['home 0:0', 'home/app 1000:1000', 'home/app/data 1000:1001', 'home/app/link 1000:1002']);
  });

  it.runIf(isRoot)('keep: the files really get their owners (root)', async () => {
    await extractLayer(streamOf(makeTar(owned)), dest, { chown: 'keep' });
    const ids = (p: string) => {
      const st = lstatSync(join(dest, p));
      return `${st.uid}:${st.gid}`;
    };
    expect([ids('home'), ids('home/app'), ids('home/app/data'), ids('home/app/link')]).toEqual(['0:0', '1000:1000', '1000:1001', '1000:1002']);
  });

  it.runIf(!isRoot)('keep: fails on ids it cannot give, leaving nothing (unprivileged)', async () => {
    await expectRejected(extractLayer(streamOf(makeTar(owned)), dest, { chown: 'keep' }), 'home', /lchown: EPERM/);
  });

  it('tolerate: EPERM/EINVAL make one warning for the whole layer', async () => {
    let n = 0;
    const r = await extract(owned, {
      chown: 'tolerate',
      lchown: async () => {
        throw Object.assign(new Error('lchown'), { code: n++ % 2 ? 'EINVAL' : 'EPERM' });
      },
    });
    expect(r.files).toBe(4);
    expect(warnings).toEqual([expect.stringMatching(/could not keep the layer's ownership .*: 4 entries, e\.g\. "home 0:0 EPERM"/)]);
  });

  it('tolerate: any other failure still fails', async () => {
    const e = await extract(owned, {
      chown: 'tolerate',
      lchown: async () => {
        throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      },
    }).catch((err: unknown) => err);
    expect(isMayflyError(e, 'ROOTFS_FAILED')).toBe(true);
    expect((e as Error).message).toMatch(/at "home".*EIO/);
    expect(tree()).toEqual(['layers']);
  });

  it('tolerate: works for real as whoever runs the tests', async () => {
    const r = await extractLayer(streamOf(makeTar(owned)), dest, { chown: 'tolerate', onWarning: (m) => warnings.push(m) });
    expect(r.files).toBe(4);
    expect(warnings).toHaveLength(isRoot ? 0 : 1);
  });

  it('skip: never chowns', async () => {
    let called = false;
    await extract(owned, {
      chown: 'skip',
      lchown: async () => {
        called = true;
      },
    });
    expect(called).toBe(false);
    expect(lstatSync(join(dest, 'home/app/data')).uid).toBe(process.getuid!());
  });

  // the extractor leaves out a chown to the ids an entry already has, and an fchmod where open(2)
  // already gave the mode: what lands must be the same
  it('keep: entries of the extracting user keep owner and mode, special bits and umask bits included', async () => {
    const uid = process.getuid!();
    const gid = process.getgid!();
    const r = await extractLayer(
      streamOf(
        makeTar([
          { path: 'd/', uid, gid, mode: 0o2775 },
          { path: 'd/su', body: 's', uid, gid, mode: 0o4755 },
          { path: 'd/open', body: 'o', uid, gid, mode: 0o666 },
          { path: 'd/all', body: 'a', uid, gid, mode: 0o777 },
          { path: 'd/plain', body: 'p', uid, gid, mode: 0o644 },
          { path: 'd/none', body: 'n', uid, gid, mode: 0o000 },
          { path: 'd/ln', type: '2', linkpath: 'plain', uid, gid },
        ]),
      ),
      dest,
      { chown: 'keep' },
    );
    expect(r.files).toBe(7);
    for (const [p, want] of [['d', 0o2775], ['d/su', 0o4755], ['d/open', 0o666], ['d/all', 0o777], ['d/plain', 0o644], ['d/none', 0o000]] as const) {
      expect([p, mode(p)]).toEqual([p, want]);
    }
    for (const p of ['d', 'd/su', 'd/open', 'd/ln']) expect(`${lstatSync(join(dest, p)).uid}:${lstatSync(join(dest, p)).gid}`).toBe(`${uid}:${gid}`);
  });

  it.runIf(isRoot)('keep: under a setgid directory, entries still get the group the layer gives them (root)', async () => {
    // the partial directory inherits the group of a setgid parent, and so would every entry: the
    // chown that gives them their own group is not left out there
    const parent = join(base, 'layers');
    mkdirSync(parent, { recursive: true });
    chownSync(parent, 0, 4321);
    chmodSync(parent, 0o2775);
    await extractLayer(streamOf(makeTar([{ path: 'etc/', uid: 0, gid: 0 }, { path: 'etc/f', body: 'f', uid: 0, gid: 0 }])), dest, { chown: 'keep' });
    expect(lstatSync(join(dest, 'etc')).gid).toBe(0);
    expect(lstatSync(join(dest, 'etc/f')).gid).toBe(0);
  });
});

describe('extractLayer: xattrs from PAX headers', () => {
  it('sets user.* xattrs, binary values intact, SCHILY and LIBARCHIVE spellings', async () => {
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x3d]);
    await extract([
      { path: 'f', body: 'x', pax: { 'SCHILY.xattr.user.mime': 'text/plain', 'SCHILY.xattr.user.bin': binary } },
      { path: 'd/', pax: { 'SCHILY.xattr.user.dir': 'yes' } },
      { path: 'g', body: 'g', pax: { 'LIBARCHIVE.xattr.user.sp%20ace': Buffer.from('b64!').toString('base64') } },
    ]);
    expect(lgetxattr(join(dest, 'f'), 'user.mime')?.toString()).toBe('text/plain');
    expect(lgetxattr(join(dest, 'f'), 'user.bin')).toEqual(binary);
    expect(lgetxattr(join(dest, 'd'), 'user.dir')?.toString()).toBe('yes');
    expect(lgetxattr(join(dest, 'g'), 'user.sp ace')?.toString()).toBe('b64!');
    expect(warnings).toEqual([]);
  });

  it('drops overlayfs control xattrs and ignores other namespaces, with a warning each', async () => {
    await extract([
      { path: 'a/', pax: { 'SCHILY.xattr.user.overlay.redirect': '/etc', 'SCHILY.xattr.trusted.overlay.opaque': 'y' } },
      { path: 'b', body: 'b', pax: { 'SCHILY.xattr.security.selinux': 'system_u:object_r:bin_t:s0' } },
    ]);
    expect(lgetxattr(join(dest, 'a'), 'user.overlay.redirect')).toBeUndefined();
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/dropped overlayfs control xattr user\.overlay\.redirect/);
    expect(warnings.join('\n')).toMatch(/ignored xattr security\.selinux/);
  });

  it('tries security.capability and only warns when it cannot be set', async () => {
    // VFS_CAP_REVISION_2, effective, cap_net_raw (13) permitted
    const cap = Buffer.alloc(20);
    cap.writeUInt32LE(0x02000001, 0);
    cap.writeUInt32LE(1 << 13, 4);
    const r = await extract([{ path: 'usr/bin/ping', body: 'ping', mode: 0o755, pax: { 'SCHILY.xattr.security.capability': cap } }]);
    expect(r.files).toBe(1);
    const got = lgetxattr(join(dest, 'usr/bin/ping'), 'security.capability');
    if (got) {
      expect(got.readUInt32LE(4)).toBe(1 << 13);
      expect(warnings).toEqual([]);
    } else {
      expect(isRoot).toBe(false);
      expect(warnings).toEqual([expect.stringMatching(/could not set xattr security\.capability/)]);
    }
  });

  it('warns, but goes on, when a symlink carries user xattrs', async () => {
    await extract([{ path: 's', type: '2', linkpath: 't', pax: { 'SCHILY.xattr.user.x': '1' } }]);
    expect(readlinkSync(join(dest, 's'))).toBe('t');
    expect(warnings).toEqual([expect.stringMatching(/symlinks cannot carry user\.\* xattrs/)]);
  });
});
