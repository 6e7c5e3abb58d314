// The images every system in the peers bench runs, pushed to the bench's local registry, so that
// mayfly, podman and Testcontainers all pull exactly the same bytes:
//   library/nginx, library/postgres (and library/redis): the presets' look-alike images, built by
//     mayfly's builder from presets/images/<name> on a Debian base, or loaded from the test cache
//     (test/support/preset-images.ts, used as it is)
//   bench/busybox:1: the host's busybox-static as a one-layer image (the "tiny image")
// Runs under vite-node (it imports the TypeScript test support directly):
//   vite-node bench/peers/prepare-images.mjs -- REGISTRY_HOST WORKDIR
// Prints one JSON line on stdout: { images: [{ name, tags, built }], busybox: REF }.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../src/fixtures/busybox-rootfs.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { unpackDebianBase } from '../../test/support/debian-base.ts';
import { preparePresetImages } from '../../test/support/preset-images.ts';

const args = process.argv.slice(2).filter((a) => a !== '--');
const [registry, workDir] = args;
if (!registry || !workDir) throw new Error('usage: prepare-images.mjs REGISTRY_HOST WORKDIR');
mkdirSync(workDir, { recursive: true });
const log = (line) => process.stderr.write(`[bench images] ${line}\n`);

const busybox = busyboxRootfs(join(workDir, 'busybox'));
const debian = await unpackDebianBase(busybox, workDir);
const images = await preparePresetImages({ registry, debianRootfs: debian, workDir, log });

const home = join(workDir, 'busybox-image-home');
const rt = await Runtime.start({ home, onWarning: () => {} });
const ref = `${registry}/bench/busybox:1`;
try {
  await rt.importRootfs(busybox, ref, { Cmd: ['sh'] });
  await rt.push(ref);
  for (const image of rt.images()) await rt.rmi(image.id, { force: true });
  await rt.prune();
} finally {
  await rt.close();
}
log(`busybox: pushed ${ref}`);
process.stdout.write(`${JSON.stringify({ images, busybox: ref })}\n`);
