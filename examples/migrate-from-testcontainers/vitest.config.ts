import { defineConfig } from 'vitest/config';

// The suite is written for Testcontainers (`from 'testcontainers'`). On mayfly the import becomes
// `from 'mayfly/testcontainers'`; this alias makes that one change for every file, so that the same
// files also run on Testcontainers itself (TESTCONTAINERS_TARGET=testcontainers) for comparison.
const onMayfly = process.env.TESTCONTAINERS_TARGET !== 'testcontainers';

export default defineConfig({
  resolve: onMayfly ? { alias: { testcontainers: 'mayfly/testcontainers' } } : {},
  test: {
    // the first start of an image pulls it
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
