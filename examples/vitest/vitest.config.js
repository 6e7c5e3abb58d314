import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // starts the services every test file shares, once for the whole run
    globalSetup: ['./test/global-setup.js'],
    // the first start of an image pulls it
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
