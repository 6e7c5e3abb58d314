// A Redis server per test, with ioredis: `await using` removes it when the test ends.
import { Redis } from 'ioredis';
import { presets } from 'mayfly';
import { expect, test } from 'vitest';

test('a counter counts', async () => {
  await using redis = await presets.redis(); // redis:7, ready when it answers PING
  const client = new Redis(redis.connectionString()); // redis://127.0.0.1:PORT
  try {
    await client.incr('visits');
    await client.incr('visits');
    expect(await client.get('visits')).toBe('2');
  } finally {
    client.disconnect();
  }
}, 120_000);
