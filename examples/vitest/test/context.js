// What the tests get: `test` with fixtures, each set up only for the tests that ask for it.
import { Redis } from 'ioredis';
import { container } from 'mayfly';
import { mayflyService, mayflyTest } from 'mayfly/vitest';
import { createCatalog } from '../src/catalog.js';

// A Redis of its own for each test file (scope: 'file'): files running side by side in other
// workers never see each other's keys. It is removed when the file is done.
export const test = mayflyTest({ redis: container('redis:7').withExposedPorts(6379) }, { scope: 'file' }).extend({
  // a client of this file's Redis, closed after each test
  client: async ({ redis }, use) => {
    const client = new Redis(redis.port(6379), redis.host);
    await use(client);
    await client.quit();
  },
  // the app, wired to this file's Redis and to the catalog API the whole run shares
  catalog: async ({ client }, use) => {
    await use(createCatalog({ apiUrl: mayflyService('catalogApi').url(80), redis: client }));
  },
});
