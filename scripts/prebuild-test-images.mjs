// Fills the machine's test image cache ahead of the suite: the Debian base tar and the presets'
// look-alike images (src/presets/lookalike/), two builds at a time. scripts/test starts it in the
// background once mayfly is built, so that on a fresh machine the builds overlap the type checks
// instead of holding up the first test files that need the images; those wait on the cache's build
// lock and then find the archives. With a full cache it only checks and exits.
//   node scripts/prebuild-test-images.mjs            (after npm run build)
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxRootfs } from '../dist/runtime/busybox-rootfs.js';
import { Runtime } from '../dist/engine/runtime.js';
import { debianBaseTar, removeUnpacked, unpackDebianBase } from '../dist/presets/lookalike/debian-base.js';
import { buildLookalikeArchives } from '../dist/presets/lookalike/lookalike-images.js';

const CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';
const log = (/** @type {string} */ line) => process.stderr.write(`[prebuild] ${line}\n`);
const started = performance.now();

mkdirSync(CACHE, { recursive: true, mode: 0o755 });
const workDir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP ?? tmpdir(), 'mayfly-prebuild-'));
const rt = await Runtime.start({ home: join(workDir, 'home'), onWarning: () => {} });
try {
  const tar = await debianBaseTar(CACHE, () => log('making the Debian base with mmdebstrap (~15 s)'));
  /** @type {string | undefined} */
  let debian;
  const busybox = busyboxRootfs(join(workDir, 'busybox'));
  try {
    // unpacked only when an image must be built from it
    const debianRootfs = async () => (debian ??= await unpackDebianBase(rt, tar, busybox, workDir));
    const archives = await buildLookalikeArchives({ cacheDir: CACHE, debianRootfs, workDir, log });
    const built = archives.filter((a) => a.built).map((a) => a.name);
    log(`${built.length ? `built ${built.join(', ')}` : 'every image was in the cache'} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    if (debian) await removeUnpacked(rt, busybox, debian);
  }
} finally {
  await rt.close();
  rmSync(workDir, { recursive: true, force: true });
}
