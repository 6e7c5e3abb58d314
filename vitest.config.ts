import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // the unprivileged test run cannot write into a root-owned node_modules/.vite
  cacheDir: join(tmpdir(), `mayfly-vitest-cache-${process.getuid?.() ?? 0}`),
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // podman-driven, as root, in a step of their own (scripts/test-job-container)
    exclude: [...configDefaults.exclude, 'test/job-container/**'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
