/**
 * Once per test run: a private MAYFLY_HOME and the test root filesystems, handed to every worker
 * through the environment (also inherited by the owner processes some tests spawn); and a registry
 * with Docker Hub mirrored to it, where the presets' images are published for the test files that
 * ask for them (test/support/preset-images.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeDebianBase, unpackDebianBase } from './debian-base.js';
import { clearHome } from './clear-home.js';
import { startRegistry } from './registry.js';
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
    const leaked = await clearHome();
    await removeDebianBase(process.env.MAYFLY_TEST_BUSYBOX!, process.env.MAYFLY_TEST_DEBIAN!);
    rmSync(base, { recursive: true, force: true });
    if (leaked.length) throw new Error(`the tests leaked ${leaked.length} container(s): ${leaked.join(', ')}`);
  };
}
