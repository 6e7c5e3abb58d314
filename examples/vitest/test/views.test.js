import { describe, expect } from 'vitest';
import { test } from './context.js';

describe('recordView', () => {
  test('counts views per product', async ({ catalog }) => {
    expect(await catalog.recordView(1)).toBe(1);
    expect(await catalog.recordView(1)).toBe(2);
    expect(await catalog.recordView(2)).toBe(1);
  });

  test('the count is in Redis, where redis-cli in the container sees it', async ({ catalog, redis }) => {
    await catalog.recordView(7);
    const { stdout } = await redis.exec(['redis-cli', 'GET', 'views:7']);
    expect(stdout.trim()).toBe('1');
  });
});
