/**
 * A real Debian userland for the tests (src/presets/lookalike/debian-base.ts): the mmdebstrap tar
 * made once per machine in a cache shared by every user, unpacked once per test run.
 */
import { Runtime } from '../../src/engine/runtime.js';
import { debianBaseTar, unpackDebianBase as unpack } from '../../src/presets/lookalike/debian-base.js';

export const TEST_CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';

/** Unpacks the Debian base into a fresh directory under `parent`. */
export async function unpackDebianBase(busybox: string, parent: string): Promise<string> {
  const tar = debianBaseTar(TEST_CACHE);
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    return await unpack(rt, tar, busybox, parent);
  } finally {
    await rt.close();
  }
}
