/**
 * The image of a CI job's container: Debian bookworm made by mmdebstrap like the tests' Debian base,
 * with the system packages mayfly's CI installs (scripts/system-packages.sh --list, less chromium,
 * mmdebstrap and the compilers, which only the host's own tests and build use), imported into a podman store of its own
 * (configured by bench/peers/podman.mjs, in a directory of its own). Built once per machine: the tar
 * is cached beside the Debian base, and both it and the podman image are named by a key of the
 * package list, so a change of the list makes a new one.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { podman, podmanEnv } from '../../bench/peers/podman.mjs';
import { withFileLock } from '../../src/sys/locks.js';
import { TEST_CACHE } from '../support/debian-base.js';

/** podman's configuration and store for these tests (kept between runs: the image is cached there) */
export const JOB_PODMAN_DIR = '/var/tmp/mayfly-job-container/podman';
/** what only the host's own tests and build use: a browser, the Debian base's builder, the native library's compilers */
const notInJobs = (p: string) => ['chromium', 'mmdebstrap', 'gcc'].includes(p) || p.startsWith('gcc-');

export function jobPackages(): string[] {
  const list = execFileSync('bash', [resolve(import.meta.dirname, '../../scripts/system-packages.sh'), '--list'], { encoding: 'utf8' });
  return list.split('\n').filter((p) => p && !notInJobs(p));
}

/** The podman image's name and the environment podman needs to find it. */
export async function jobImage(log: (line: string) => void): Promise<{ image: string; env: NodeJS.ProcessEnv }> {
  const packages = jobPackages();
  const key = createHash('sha256').update(`bookworm minbase\n${packages.join('\n')}\n`).digest('hex').slice(0, 16);
  const image = `localhost/mayfly-test/ci-job:${key}`;
  const env = podmanEnv([], JOB_PODMAN_DIR);
  mkdirSync(TEST_CACHE, { recursive: true, mode: 0o755 });
  await withFileLock(join(TEST_CACHE, 'ci-job.lock'), async () => {
    if (await imageExists(image, env)) return;
    const tar = join(TEST_CACHE, `ci-job-bookworm-${key}.tar`);
    if (!existsSync(tar)) {
      const t0 = Date.now();
      log(`building the job image (mmdebstrap bookworm + ${packages.join(' ')}): once per machine`);
      const tmp = join(TEST_CACHE, `.ci-job-${process.pid}.tar`);
      try {
        execFileSync('mmdebstrap', ['--mode=unshare', '--variant=minbase', '--quiet', `--include=${packages.join(',')}`, 'bookworm', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
        chmodSync(tmp, 0o644);
        renameSync(tmp, tar);
      } finally {
        rmSync(tmp, { force: true });
      }
      log(`job image tar built in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    await podman(['import', tar, image], env);
  }, 500);
  return { image, env };
}

async function imageExists(image: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const out = await podman(['images', '--quiet', '--filter', `reference=${image}`], env, { allowFailure: true });
  return out.trim().length > 0;
}
