/**
 * The end of a test run's use of the MAYFLY_HOME the environment names (global teardown's shared
 * home, a file's private one): its keeper ended, with the reused and detached containers it holds;
 * every image removed and the store pruned — by a sandbox, as layers hold files of subordinate ids
 * when rootless. Returns the containers still there then: every test cleans up after itself, so
 * what the home holds once its users are gone is a leak.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mayflyHome } from '../../src/core/paths.js';
import { Runtime } from '../../src/engine/runtime.js';
import { stopReusedContainers } from '../../src/harness/reuse.js';

export async function clearHome(): Promise<string[]> {
  await stopReusedContainers();
  const containers = join(mayflyHome(), 'containers');
  const list = () => {
    try {
      return readdirSync(containers);
    } catch {
      return [];
    }
  };
  // a sandbox removing its containers takes a moment
  for (let i = 0; i < 100 && list().length; i++) await new Promise((r) => setTimeout(r, 50));
  const leaked = list();
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    for (const image of rt.images()) await rt.rmi(image.id, { force: true });
    await rt.prune();
  } finally {
    await rt.close();
  }
  return leaked;
}
