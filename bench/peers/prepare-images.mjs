// The images every system in the peers bench runs, pushed to the bench's local registry, so that
// mayfly, podman and Testcontainers all pull exactly the same bytes:
//   library/nginx, library/postgres, library/redis, …: the presets' look-alike images
//     (src/presets/lookalike/), built by mayfly's builder on a Debian base, or taken from the
//     machine's cache of built images (the test suite's: /var/tmp/mayfly-test-cache)
//   bench/busybox:1: the host's busybox-static as a one-layer image (the "tiny image")
//   node bench/peers/prepare-images.mjs REGISTRY_HOST WORKDIR     (after npm run build)
// Prints one JSON line on stdout: { images: [{ name, tags, built }], busybox: REF }.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../dist/runtime/busybox-rootfs.js';
import { Runtime } from '../../dist/engine/runtime.js';
import { debianBaseTar, removeUnpacked, unpackDebianBase } from '../../dist/presets/lookalike/debian-base.js';
import { prepareLookalikeImages } from '../../dist/presets/lookalike/lookalike-images.js';

const CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';
const [registry, workDir] = process.argv.slice(2);
if (!registry || !workDir) throw new Error('usage: prepare-images.mjs REGISTRY_HOST WORKDIR');
mkdirSync(workDir, { recursive: true });
const log = (/** @type {string} */ line) => process.stderr.write(`[bench images] ${line}\n`);

const busybox = busyboxRootfs(join(workDir, 'busybox'));
const rt = await Runtime.start({ home: join(workDir, 'busybox-image-home'), onWarning: () => {} });
const ref = `${registry}/bench/busybox:1`;
let images;
try {
  const debian = await unpackDebianBase(rt, await debianBaseTar(CACHE, () => log('making the Debian base with mmdebstrap (~15 s)')), busybox, workDir);
  try {
    images = await prepareLookalikeImages({ registry, cacheDir: CACHE, debianRootfs: debian, workDir, log });
  } finally {
    await removeUnpacked(rt, busybox, debian);
  }
  await rt.importRootfs(busybox, ref, { Cmd: ['sh'] });
  await rt.push(ref);
  for (const image of rt.images()) await rt.rmi(image.id, { force: true });
  await rt.prune();
} finally {
  await rt.close();
}
log(`busybox: pushed ${ref}`);
process.stdout.write(`${JSON.stringify({ images, busybox: ref })}\n`);
