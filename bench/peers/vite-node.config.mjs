// vite-node's configuration for bench/peers/prepare-images.mjs: test/support/preset-images.ts
// imports `beforeAll` from vitest for its test-side helper, and vitest cannot be loaded outside its
// runner; the bench uses only the module's plain functions, so `vitest` resolves to a stub here.
import { fileURLToPath } from 'node:url';

export default {
  resolve: { alias: { vitest: fileURLToPath(new URL('./vitest-stub.mjs', import.meta.url)) } },
  logLevel: 'error',
};
