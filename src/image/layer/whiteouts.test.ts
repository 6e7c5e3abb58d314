import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lsetxattr, xattrText } from '../../sys/xattr.js';
import { extractLayer } from './extract-layer.js';
import { writeLayerTar } from './layer-tar.js';
import { isOpaque, isWhiteout, OPAQUE_XATTR, writeXattrWhiteout } from './whiteouts.js';

/** The entry names of a tar writeLayerTar made (its names here are short: no PAX). */
function names(tar: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    out.push(h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, ''));
    const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

async function tarOf(dir: string): Promise<Buffer> {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  await writeLayerTar(dir, s);
  s.end();
  return Buffer.concat(chunks);
}

let base: string;
beforeEach(() => {
  base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE ?? tmpdir(), 'whiteouts-'));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

describe('xattr whiteouts (for layer stores on overlayfs, where 0/0 devices are refused)', () => {
  it('are recognised, and marked on their directory as "holds xattr whiteouts", not as opaque', () => {
    mkdirSync(join(base, 'd'));
    writeXattrWhiteout(join(base, 'd', 'gone'));
    writeFileSync(join(base, 'd', 'empty'), '');
    expect(isWhiteout(join(base, 'd', 'gone'))).toBe(true);
    expect(isWhiteout(join(base, 'd', 'empty'))).toBe(false);
    expect(xattrText(join(base, 'd'), OPAQUE_XATTR)).toBe('x');
    expect(isOpaque(join(base, 'd'))).toBe(false);
  });

  it('leave an opaque directory opaque', () => {
    mkdirSync(join(base, 'o'));
    lsetxattr(join(base, 'o'), OPAQUE_XATTR, 'y');
    writeXattrWhiteout(join(base, 'o', 'gone'));
    expect(isOpaque(join(base, 'o'))).toBe(true);
  });

  it('go into a layer tar as .wh. entries and come back out of one as xattr whiteouts', async () => {
    const src = join(base, 'src');
    mkdirSync(join(src, 'd'), { recursive: true });
    mkdirSync(join(src, 'o'));
    writeFileSync(join(src, 'd', 'kept'), 'k');
    writeXattrWhiteout(join(src, 'd', 'gone'));
    writeXattrWhiteout(join(src, 'top'));
    lsetxattr(join(src, 'o'), OPAQUE_XATTR, 'y');
    const tar = await tarOf(src);
    expect(names(tar).sort()).toEqual(['.wh.top', 'd/', 'd/.wh.gone', 'd/kept', 'o/', 'o/.wh..wh..opq']);
    const out = join(base, 'out');
    const s = new PassThrough();
    s.end(tar);
    await extractLayer(s, out, { chown: 'skip', whiteout: writeXattrWhiteout });
    expect(isWhiteout(join(out, 'd', 'gone'))).toBe(true);
    expect(isWhiteout(join(out, 'top'))).toBe(true);
    expect(isOpaque(join(out, 'o'))).toBe(true);
    expect(names(await tarOf(out)).sort()).toEqual(names(tar).sort());
  });
});
