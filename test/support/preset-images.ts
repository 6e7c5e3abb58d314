/**
 * The presets' look-alike images (src/presets/lookalike/) in the run's registry, which global setup
 * mirrors docker.io to, so that `nginx`, `postgres`, `mariadb`… pull by their upstream names.
 *
 * Only runs that need them pay for them: a test file that runs these images calls
 * `usePresetImages()`, and the first worker to get there publishes them (under a lock; the others
 * wait, then find them published). Built images are kept in the machine's test cache.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll } from 'vitest';
import { atomicWrite } from '../../src/core/files.js';
import { prepareLookalikeImages, type LookalikeImage } from '../../src/presets/lookalike/lookalike-images.js';
import { withFileLock } from '../../src/sys/locks.js';
import { TEST_CACHE } from './debian-base.js';

export type PresetImage = LookalikeImage;

/** Cold, the first run builds every image: allow for a slow package archive. */
const PUBLISH_TIMEOUT_MS = 20 * 60_000;

/**
 * For a test file that runs the look-alike images: before its tests start, every image of
 * presets/images is in the run's registry ($MAYFLY_TEST_REGISTRY), which docker.io is mirrored to.
 */
export function usePresetImages(): void {
  beforeAll(async () => {
    await presetImagesReady();
  }, PUBLISH_TIMEOUT_MS);
}

let ready: Promise<PresetImage[]> | undefined;

/** Publishes the images once per test run, whichever worker asks first; the others wait for it. */
export function presetImagesReady(): Promise<PresetImage[]> {
  ready ??= (async () => {
    const registry = process.env.MAYFLY_TEST_REGISTRY;
    const base = process.env.MAYFLY_TEST_TMP_BASE;
    const debianRootfs = process.env.MAYFLY_TEST_DEBIAN;
    if (!registry || !base || !debianRootfs) throw new Error('the preset images need the test registry and Debian base of test/support/global-setup.ts');
    const done = join(base, 'preset-images.json');
    return withFileLock(join(base, 'preset-images.lock'), async () => {
      if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as PresetImage[];
      const images = await prepareLookalikeImages({ registry, cacheDir: TEST_CACHE, debianRootfs, workDir: base, log: (line) => process.stderr.write(`[preset-images] ${line}\n`) });
      atomicWrite(done, JSON.stringify(images));
      return images;
    }, 100);
  })();
  return ready;
}
