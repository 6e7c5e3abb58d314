import { describe, expect } from 'vitest';
import { test } from './context.js';

describe('getProduct', () => {
  test('returns the product the catalog API has', async ({ catalog }) => {
    expect(await catalog.getProduct(1)).toEqual({ id: 1, name: 'Teapot', price: 24.5 });
  });

  test('returns null for a product the API does not know', async ({ catalog }) => {
    expect(await catalog.getProduct(999)).toBeNull();
  });
});
