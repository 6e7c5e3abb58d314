// The CI job container tests (job-container.test.ts): run by scripts/test-job-container, as root,
// apart from the main suite (they start podman containers that run parts of the main suite inside).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  cacheDir: join(tmpdir(), `mayfly-vitest-cache-${process.getuid?.() ?? 0}`),
  test: {
    root: join(import.meta.dirname, '../..'),
    include: ['test/job-container/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 1_200_000,
    reporters: ['default'],
  },
});
