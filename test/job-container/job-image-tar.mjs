// The root filesystem of a CI job's container as a tar: Debian bookworm made by mmdebstrap, with the
// system packages mayfly's CI installs (scripts/system-packages.sh --list, less chromium, mmdebstrap,
// the compilers and Docker's clients, which only the host's own tests and build use). Made once per machine in the
// test cache, named by a key of the package list (a change of the list makes a new one). Imported by
// job-image.ts; run as a script by scripts/test, in the background while the main suite runs, so
// the job-container stage finds it made.
//   node test/job-container/job-image-tar.mjs      (after npm run build)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withFileLock } from '../../dist/sys/locks.js';

const TEST_CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';

/**
 * what only the host's own tests and build use: a browser, the Debian base's builder, the native
 * library's compilers, and Docker's CLI and docker-compose with its python3 (test/api and
 * test/compose, which a job container does not run; the tar took 255 s beside a fresh machine's suite)
 */
const notInJobs = (/** @type {string} */ p) => ['chromium', 'mmdebstrap', 'gcc', 'docker.io', 'docker-compose'].includes(p) || p.startsWith('gcc-');

/** @returns {string[]} */
export function jobPackages() {
  const list = execFileSync('bash', [resolve(import.meta.dirname, '../../scripts/system-packages.sh'), '--list'], { encoding: 'utf8' });
  return list.split('\n').filter((p) => p && !notInJobs(p));
}

/**
 * The tar (made if the cache lacks it) and the key of its package list.
 * @param {(line: string) => void} log
 * @returns {Promise<{ tar: string, key: string }>}
 */
export async function jobImageTar(log) {
  const packages = jobPackages();
  const key = createHash('sha256').update(`bookworm minbase\n${packages.join('\n')}\n`).digest('hex').slice(0, 16);
  const tar = join(TEST_CACHE, `ci-job-bookworm-${key}.tar`);
  mkdirSync(TEST_CACHE, { recursive: true, mode: 0o755 });
  await withFileLock(join(TEST_CACHE, 'ci-job-tar.lock'), async () => {
    if (existsSync(tar)) return;
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
  }, 500);
  return { tar, key };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await jobImageTar((line) => process.stderr.write(`[job-container] ${line}\n`));
}
