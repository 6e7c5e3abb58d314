import { mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { c as tarCreate } from 'tar';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../store/image-store.js';
import { hostileEntry, importArchive, layoutEntry } from './import-archive.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'mayfly-archive-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('archive entries', () => {
  it.each([
    ['/etc/passwd', 'File', 'absolute path /etc/passwd'],
    ['blobs/../../x', 'File', 'path blobs/../../x climbs out with ..'],
    ['blobs/sha256/abc', 'SymbolicLink', 'blobs/sha256/abc is a SymbolicLink, not a file or directory'],
    ['index.json', 'Link', 'index.json is a Link, not a file or directory'],
    ['dev', 'CharacterDevice', 'dev is a CharacterDevice, not a file or directory'],
    ['blobs/sha256/' + 'a'.repeat(64), 'File', undefined],
    ['manifest.json', 'File', undefined],
  ])('%s (%s) is hostile: %s', (path, type, why) => {
    expect(hostileEntry(path, type)).toBe(why);
  });

  it.each([
    ['oci-layout', 'File', true],
    ['./index.json', 'File', true],
    ['blobs/', 'Directory', true],
    ['blobs/sha256/' + 'a'.repeat(64), 'File', true],
    ['blobs/sha256/' + 'a'.repeat(63), 'File', false],
    ['manifest.json', 'File', false],
    ['blobs/sha512/x', 'File', false],
  ])('%s (%s) is part of the layout: %s', (path, type, expected) => {
    expect(layoutEntry(path, type)).toBe(expected);
  });
});

describe('importArchive', () => {
  it('refuses an archive with a link, and writes nothing into the store', async () => {
    const src = tmp();
    writeFileSync(join(src, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    mkdirSync(join(src, 'blobs', 'sha256'), { recursive: true });
    symlinkSync('/etc/passwd', join(src, 'blobs', 'sha256', 'a'.repeat(64)));
    const file = join(tmp(), 'evil.tar');
    await tarCreate({ file, cwd: src }, ['index.json', 'blobs']);
    const store = new ImageStore(tmp());
    await expect(importArchive(store, file)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID', message: expect.stringContaining('SymbolicLink') });
  });

  it('refuses a blob whose content is not its digest', async () => {
    const src = tmp();
    const fake = 'b'.repeat(64);
    mkdirSync(join(src, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(src, 'blobs', 'sha256', fake), '{}');
    writeFileSync(join(src, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${fake}`, size: 2 }] }));
    const file = join(tmp(), 'bad.tar');
    await tarCreate({ file, cwd: src }, ['index.json', 'blobs']);
    await expect(importArchive(new ImageStore(tmp()), file)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('says what is wrong with a file that is not an OCI layout', async () => {
    const file = join(tmp(), 'not.tar');
    writeFileSync(file, 'hello');
    await expect(importArchive(new ImageStore(tmp()), file)).rejects.toMatchObject({ code: 'ARCHIVE_INVALID' });
  });
});
