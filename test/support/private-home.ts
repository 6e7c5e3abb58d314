/**
 * A MAYFLY_HOME of the test file's own, for a file that prunes the store, lists or counts what the
 * home holds (layers, snapshots, containers) or ends its keeper: the run's shared home (global
 * setup's) is used by another test file at the same time, whose layers, stopped containers and
 * half-made entries would otherwise be in the counts or be pruned away.
 *
 * Call it at the top of the file, before useRuntime(): every runtime, CLI call, keeper and owner
 * process of the file then uses this home (MAYFLY_HOME is read when they start). Images come as
 * fast as in the shared home: the busybox and Debian roots are directories, and the run's registry
 * mirror reaches every home through the environment global setup set. After the file: the home
 * cleared (test/support/clear-home.ts) and deleted; a container left in it fails the file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { clearHome } from './clear-home.js';

export function usePrivateHome(name: string): string {
  const base = process.env.MAYFLY_TEST_TMP_BASE;
  if (!base) throw new Error('usePrivateHome needs the run of test/support/global-setup.ts (MAYFLY_TEST_TMP_BASE)');
  const home = mkdtempSync(join(base, `home-${name}-`));
  const shared = process.env.MAYFLY_HOME;
  process.env.MAYFLY_HOME = home;
  // registered first, so it runs after the file's other afterAll hooks (its runtimes closed)
  afterAll(async () => {
    try {
      const leaked = await clearHome();
      rmSync(home, { recursive: true, force: true });
      if (leaked.length) throw new Error(`${name} leaked ${leaked.length} container(s) in its MAYFLY_HOME: ${leaked.join(', ')}`);
    } finally {
      process.env.MAYFLY_HOME = shared;
    }
  }, 120_000);
  return home;
}
