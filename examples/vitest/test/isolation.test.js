import { expect } from 'vitest';
import { test } from './context.js';

// The other files write to Redis at the same time, in other workers: this file's Redis is its own.
test('a test file starts with an empty Redis of its own', async ({ client, catalog }) => {
  expect(await client.dbsize()).toBe(0);
  await catalog.recordView(1);
  expect(await client.keys('*')).toEqual(['views:1']);
});
