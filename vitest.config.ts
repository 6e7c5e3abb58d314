import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';
import ImagesLastSequencer from './test/support/images-last-sequencer.js';

export default defineConfig({
  // the unprivileged test run cannot write into a root-owned node_modules/.vite
  cacheDir: join(tmpdir(), `mayfly-vitest-cache-${process.getuid?.() ?? 0}`),
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // podman-driven, as root, in a step of their own (scripts/test-job-container)
    exclude: [...configDefaults.exclude, 'test/job-container/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // the files mostly wait on containers, registries and child processes: one worker per core
    // leaves the cores idle (Vitest's default is cores - 1, a single worker on a 2-core CI machine).
    // A file that prunes or counts what a MAYFLY_HOME holds takes one of its own (test/support/private-home.ts).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // on a fresh machine, the files that need the look-alike images after the others (the images are still being built)
    sequence: { sequencer: ImagesLastSequencer },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
