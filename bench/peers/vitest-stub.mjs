// What test/support modules import from vitest, for use outside the test runner (see vite-node.config.mjs).
const unavailable = (name) => () => {
  throw new Error(`vitest's ${name} is not available outside the test runner`);
};
export const beforeAll = unavailable('beforeAll');
export const afterAll = unavailable('afterAll');
export const beforeEach = unavailable('beforeEach');
export const afterEach = unavailable('afterEach');
