/** @mayfly redis */
const { connect } = require('./connect');

const { client, catalog } = connect();
afterAll(() => client.quit());

describe('recordView', () => {
  test('counts views per product', async () => {
    expect(await catalog.recordView(1)).toBe(1);
    expect(await catalog.recordView(1)).toBe(2);
    expect(await catalog.recordView(2)).toBe(1);
  });

  test('the count is in Redis, where redis-cli in the container sees it', async () => {
    await catalog.recordView(7);
    const { stdout } = await mayfly.services.redis.exec(['redis-cli', 'GET', 'views:7']);
    expect(stdout.trim()).toBe('1');
  });
});
