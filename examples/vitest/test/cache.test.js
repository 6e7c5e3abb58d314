import { describe, expect } from 'vitest';
import { test } from './context.js';

describe('the product cache', () => {
  test('keeps a product in Redis for a minute', async ({ catalog, client }) => {
    await catalog.getProduct(2);
    expect(JSON.parse(await client.get('product:2'))).toMatchObject({ name: 'Kettle' });
    expect(await client.ttl('product:2')).toBeGreaterThan(55);
  });

  test('answers from Redis once a product is cached', async ({ catalog, client }) => {
    await client.set('product:2', JSON.stringify({ id: 2, name: 'Kettle (cached)', price: 39 }));
    expect(await catalog.getProduct(2)).toMatchObject({ name: 'Kettle (cached)' });
  });

  test('does not cache a product the API does not know', async ({ catalog, client }) => {
    await catalog.getProduct(404);
    expect(await client.exists('product:404')).toBe(0);
  });
});
