/**
 * The image of a CI job's container: the tar of job-image-tar.mjs (Debian bookworm with the packages
 * mayfly's CI installs, made once per machine) imported into a podman store of its own (configured
 * by bench/peers/podman.mjs, in a directory of its own), named by the same key of the package list.
 */
import { join } from 'node:path';
import { podman, podmanEnv } from '../../bench/peers/podman.mjs';
import { withFileLock } from '../../src/sys/locks.js';
import { TEST_CACHE } from '../support/debian-base.js';
import { jobImageTar } from './job-image-tar.mjs';

/** podman's configuration and store for these tests (kept between runs: the image is cached there) */
export const JOB_PODMAN_DIR = '/var/tmp/mayfly-job-container/podman';

/** The podman image's name and the environment podman needs to find it. */
export async function jobImage(log: (line: string) => void): Promise<{ image: string; env: NodeJS.ProcessEnv }> {
  const { tar, key } = await jobImageTar(log);
  const image = `localhost/mayfly-test/ci-job:${key}`;
  const env = podmanEnv([], JOB_PODMAN_DIR);
  await withFileLock(join(TEST_CACHE, 'ci-job.lock'), async () => {
    if (!(await imageExists(image, env))) await podman(['import', tar, image], env);
  }, 500);
  return { image, env };
}

async function imageExists(image: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const out = await podman(['images', '--quiet', '--filter', `reference=${image}`], env, { allowFailure: true });
  return out.trim().length > 0;
}
