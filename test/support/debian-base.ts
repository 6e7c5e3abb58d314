/**
 * A real Debian userland for the tests (src/presets/lookalike/debian-base.ts): the mmdebstrap tar
 * made once per machine in a cache shared by every user, unpacked once per test run.
 */
import { Runtime } from '../../src/engine/runtime.js';
import { debianBaseTar, removeUnpacked, unpackDebianBase as unpack } from '../../src/presets/lookalike/debian-base.js';

export const TEST_CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';

/** Unpacks the Debian base into a fresh directory under `parent`. */
export async function unpackDebianBase(busybox: string, parent: string): Promise<string> {
  const tar = await debianBaseTar(TEST_CACHE);
  return withQuietRuntime((rt) => unpack(rt, tar, busybox, parent));
}

/**
 * Removes what unpackDebianBase made. Unprivileged, some of its directories belong to subordinate
 * ids with mode 0700 (apt's partial/): the user can neither list nor empty them, and Node 24's
 * rmSync lists a directory before removing it (Node 20's and 22's rmdir an empty one first), so a
 * container (root of the user namespace) does.
 */
export async function removeDebianBase(busybox: string, dir: string): Promise<void> {
  await withQuietRuntime((rt) => removeUnpacked(rt, busybox, dir));
}

async function withQuietRuntime<T>(fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
