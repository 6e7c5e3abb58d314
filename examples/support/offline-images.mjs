// Where Docker Hub is out of reach, the demo builds look-alike nginx and postgres images itself
// (src/presets/lookalike/): a Debian base made by mmdebstrap, then presets/images/* with mayfly's
// own builder, kept in the store under the upstream names, so the presets find them without a pull.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../dist/runtime/busybox-rootfs.js';
import { mayflyHome } from '../../dist/core/paths.js';
import { debianBaseTar, DEBIAN_BASE_NAME, importDebianBase, removeUnpacked, unpackDebianBase } from '../../dist/presets/lookalike/debian-base.js';
import { buildLookalikeImage } from '../../dist/presets/lookalike/lookalike-images.js';

const POSTGRES_TAG = '15'; // what Debian bookworm ships

/** @param {import('../../dist/engine/runtime.js').Runtime} rt @param {string} ref */
function has(rt, ref) {
  try {
    rt.inspect(ref);
    return true;
  } catch {
    return false;
  }
}

/** The test suite's cached Debian base when this machine has one, else one of this MAYFLY_HOME's. */
async function debianTar(say) {
  const shared = '/var/tmp/mayfly-test-cache/debian-bookworm-minbase.tar';
  if (existsSync(shared)) return shared;
  return debianBaseTar(join(mayflyHome(), 'cache'), () => say('  making a Debian base with mmdebstrap (about 15 s)…'));
}

/** @param {import('../../dist/engine/runtime.js').Runtime} rt @param {(line: string) => void} say */
export async function ensureOfflineImages(rt, say) {
  if (has(rt, 'nginx:1') && has(rt, `postgres:${POSTGRES_TAG}`)) return POSTGRES_TAG;
  say('building them once (about a minute; later runs start at once)');
  if (!has(rt, DEBIAN_BASE_NAME)) {
    const busybox = busyboxRootfs(join(mayflyHome(), 'fixtures/busybox'));
    say(`  importing it as ${DEBIAN_BASE_NAME}…`);
    const rootfs = await unpackDebianBase(rt, await debianTar(say), busybox, mayflyHome());
    try {
      await importDebianBase(rt, rootfs);
    } finally {
      await removeUnpacked(rt, busybox, rootfs);
    }
  }
  for (const name of ['nginx', 'postgres']) {
    const t = performance.now();
    await buildLookalikeImage(rt, name, (line) => say(`  ${line}`));
    say(`  ${name} built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return POSTGRES_TAG;
}
