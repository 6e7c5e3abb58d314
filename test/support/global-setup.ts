/**
 * Once per test run: a private MAYFLY_HOME and the test root filesystems, handed to every worker
 * through the environment (also inherited by the owner processes some tests spawn); and a registry
 * with Docker Hub mirrored to it, where the presets' images are published for the test files that
 * ask for them (test/support/preset-images.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../../src/engine/runtime.js';
import { unpackDebianBase } from './debian-base.js';
import { startRegistry } from './registry.js';
import { stopReusedContainers } from '../../src/harness/reuse.js';
import { makeBusyboxRootfs } from './rootfs.js';

export default async function setup(): Promise<() => Promise<void>> {
  const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP ?? tmpdir(), 'mayfly-test-'));
  process.env.MAYFLY_HOME = join(base, 'home');
  process.env.MAYFLY_TEST_BUSYBOX = makeBusyboxRootfs(join(base, 'busybox'));
  process.env.MAYFLY_TEST_TMP_BASE = base;
  process.env.MAYFLY_TEST_DEBIAN = await unpackDebianBase(process.env.MAYFLY_TEST_BUSYBOX, base);
  // Docker Hub is out of reach: `nginx`, `postgres`, `redis` are pulled from this run's registry
  const registry = await startRegistry('plain');
  process.env.MAYFLY_TEST_REGISTRY = registry.host;
  process.env.MAYFLY_REGISTRY_MIRRORS = `docker.io=${registry.host}`;
  process.env.MAYFLY_INSECURE_REGISTRIES = registry.host; // loopback is plain HTTP anyway; said for tools that ask
  return async () => {
    await registry.stop();
    // the keeper (reused and detached containers) serves every test file of the run: it ends here
    await stopReusedContainers();
    // every test cleans up after itself; what a sandbox still holds once all workers are gone is a leak
    const containers = join(process.env.MAYFLY_HOME!, 'containers');
    const list = () => {
      try {
        return readdirSync(containers);
      } catch {
        return [];
      }
    };
    for (let i = 0; i < 100 && list().length; i++) await new Promise((r) => setTimeout(r, 50));
    const leaked = list();
    // layers hold files of the image's users (subordinate ids when rootless): only a sandbox may delete them
    const rt = await Runtime.start({ onWarning: () => {} });
    for (const image of rt.images()) await rt.rmi(image.id, { force: true });
    await rt.prune();
    await rt.close();
    rmSync(base, { recursive: true, force: true });
    if (leaked.length) throw new Error(`the tests leaked ${leaked.length} container(s): ${leaked.join(', ')}`);
  };
}
