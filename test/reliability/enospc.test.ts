/**
 * A full disk under MAYFLY_HOME (a small tmpfs, as root): the pull fails with NO_SPACE naming the
 * store, nothing half-installed stays, and once there is room the same pull works. As an
 * unprivileged user it is skipped (said in the reliability report): such a user cannot mount a
 * small filesystem under its MAYFLY_HOME on this machine; the error mapping is the same code.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { LocalImages } from '../../src/engine/images.js';
import { ImageStore } from '../../src/image/store/image-store.js';
import { pushImage } from '../support/images.js';
import { tarOf } from '../support/registry.js';
import { record } from '../support/reliability-log.js';
import { caught, isRoot } from '../support/runtime.js';

const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'enospc-'));
const mnt = join(base, 'small');
afterAll(() => {
  spawnSync('umount', [mnt]);
  rmSync(base, { recursive: true, force: true });
});

describe('no space left in MAYFLY_HOME', () => {
  it.runIf(!isRoot)('(as an unprivileged user: skipped, with the reason)', () => {
    // an unprivileged user cannot mount a small filesystem for its MAYFLY_HOME here: the nested
    // user namespace it could mount one in has no room for the sandbox's subordinate id map
    record('skipped', 'ENOSPC: an unprivileged user cannot mount a small tmpfs for MAYFLY_HOME (covered as root; the same code path)');
  });

  it.runIf(isRoot)('a pull that does not fit fails with NO_SPACE, keeps nothing half-installed, and works once there is room', async () => {
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mnt]);
    const home = join(mnt, 'home');
    const seed = randomBytes(6).toString('hex');
    // incompressible: the blob is as big as the file, and the layer as big again
    await pushImage(`http://${process.env.MAYFLY_TEST_REGISTRY}`, `enospc/${seed}`, 'v1', [tarOf({ 'etc/a': 'a' }), tarOf({ 'data/big': randomBytes(8 * 1024 * 1024) })]);
    const ref = `${process.env.MAYFLY_TEST_REGISTRY}/enospc/${seed}:v1`;
    const rt = await Runtime.start({ home, onWarning: () => {} });
    try {
      const e = await caught(rt.pull(ref));
      expect(e.code).toBe('NO_SPACE');
      expect(e.message).toContain(home);
      record('fault', 'ENOSPC in MAYFLY_HOME during a pull');
      const store = new ImageStore(home);
      expect(store.find(ref)).toBeUndefined();
      for (const dir of [store.blobsDir, store.layersDir]) expect(readdirSync(dir).filter((f) => !/^[0-9a-f]{64}$/.test(f))).toEqual([]);
      expect((await new LocalImages(store).check()).problems).toEqual([]);
      // room again
      execFileSync('mount', ['-o', 'remount,size=64m', mnt]);
      await rt.pull(ref);
      expect(store.find(ref)).toBeDefined();
      expect((await new LocalImages(store).check()).problems).toEqual([]);
      await rt.rmi(ref, { force: true });
      await rt.prune();
    } finally {
      await rt.close();
    }
  }, 120_000);
});
