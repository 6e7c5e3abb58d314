// Runs prepare-images.mjs (in a process of its own: it keeps a sandbox of its own) to put the
// images every system runs into the registry at `registryHost`; returns what it printed as JSON.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * @param {string} checkout
 * @param {string} registryHost
 * @param {string} workDir
 */
export function prepareImages(checkout, registryHost, workDir) {
  const prep = spawnSync(process.execPath, [join(checkout, 'bench/peers/prepare-images.mjs'), registryHost, workDir], {
    cwd: checkout,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 1_800_000,
  });
  if (prep.status !== 0) throw new Error(`preparing the images failed (exit ${prep.status ?? prep.signal})`);
  rmSync(workDir, { recursive: true, force: true });
  return JSON.parse(prep.stdout.trim().split('\n').pop());
}
