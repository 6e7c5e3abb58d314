import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX, runToEnd, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();
let registry: StartedRegistry;

beforeAll(async () => {
  registry = await startRegistry('plain');
  await runtime().importRootfs(BUSYBOX, 'test/zstd-base:1');
});
afterAll(() => registry?.stop());

function magic(path: string): Buffer {
  const fd = openSync(path, 'r');
  const b = Buffer.alloc(4);
  readSync(fd, b, 0, 4, 0);
  closeSync(fd);
  return b;
}

describe('zstd layers', () => {
  it('a build with compression zstd makes zstd layers; pushed and pulled into another store, the image runs', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'zstd-ctx-'));
    writeFileSync(join(ctx, 'big.txt'), 'all work and no play\n'.repeat(50_000));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM test/zstd-base:1\nCOPY big.txt /big.txt\nRUN wc -l /big.txt > /count\nCMD ["cat", "/count"]\n');
    const name = `${registry.host}/test/zstd-app:1`;
    const rec = await runtime().build({ context: ctx, tag: name, compression: 'zstd' });
    const own = rec.layers.slice(1);
    expect(own.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd']);
    for (const l of own) expect(magic(join(process.env.MAYFLY_HOME!, 'blobs', 'sha256', l.digest.slice(7)))).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    await runtime().push(name);

    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'zstd-home-'));
    const other = await Runtime.start({ home, onWarning: () => {} });
    try {
      const pulled = await other.pull(name);
      expect(pulled.layers.map((l) => l.diffId)).toEqual(rec.layers.map((l) => l.diffId));
      expect((await runToEnd(await other.create({ image: name, pull: 'never' }))).out.trim()).toBe('50000 /big.txt');
      for (const image of other.images()) await other.rmi(image.id, { force: true });
      await other.prune();
    } finally {
      await other.close();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('push --compression zstd recompresses gzip layers: same image ID, zstd layers in the registry', async () => {
    const name = `${registry.host}/test/zstd-pushed:1`;
    const rec = runtime().tag('test/zstd-base:1', name);
    expect(rec.layers.every((l) => l.mediaType.endsWith('gzip'))).toBe(true);
    await runtime().push(name, { compression: 'zstd' });
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'zstd-home-'));
    const other = await Runtime.start({ home, onWarning: () => {} });
    try {
      const pulled = await other.pull(name);
      expect(pulled.id).toBe(rec.id);
      expect(pulled.layers.map((l) => l.mediaType)).toEqual(['application/vnd.oci.image.layer.v1.tar+zstd']);
      expect((await runToEnd(await other.create({ image: name, pull: 'never', command: ['echo', 'runs'] }))).out).toBe('runs\n');
      for (const image of other.images()) await other.rmi(image.id, { force: true });
      await other.prune();
    } finally {
      await other.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
