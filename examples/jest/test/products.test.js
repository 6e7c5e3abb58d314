/** @mayfly redis */
const { connect } = require('./connect');

const { client, catalog } = connect();
afterAll(() => client.quit());

describe('getProduct', () => {
  test('returns the product the catalog API has', async () => {
    expect(await catalog.getProduct(1)).toEqual({ id: 1, name: 'Teapot', price: 24.5 });
  });

  test('returns null for a product the API does not know', async () => {
    expect(await catalog.getProduct(999)).toBeNull();
  });
});
