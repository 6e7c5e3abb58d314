// A suite as it is written for Testcontainers for Node. Nothing here knows about mayfly.
import { Redis } from 'ioredis';
import pg from 'pg';
import { GenericContainer, Network, Wait, type StartedTestContainer } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX, POSTGRES, REDIS } from './images.js';

describe('a cache in Redis', () => {
  let redis: StartedTestContainer;
  let client: Redis;

  beforeAll(async () => {
    redis = await new GenericContainer(REDIS).withExposedPorts(6379).withWaitStrategy(Wait.forLogMessage('Ready to accept connections')).start();
    client = new Redis(redis.getMappedPort(6379), redis.getHost());
  });

  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  it('keeps a value', async () => {
    await client.set('greeting', 'hello');
    expect(await client.get('greeting')).toBe('hello');
  });

  it('counts', async () => {
    await client.incr('visits');
    expect(await client.incr('visits')).toBe(2);
    const { output } = await redis.exec(['redis-cli', 'get', 'visits']);
    expect(output.trim()).toBe('2');
  });
});

describe('orders in PostgreSQL', () => {
  it('stores and sums orders', async () => {
    await using db = await new GenericContainer(POSTGRES)
      .withEnvironment({ POSTGRES_PASSWORD: 'secret', POSTGRES_DB: 'shop' })
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    const client = new pg.Client({ host: db.getHost(), port: db.getMappedPort(5432), user: 'postgres', password: 'secret', database: 'shop' });
    await client.connect();
    try {
      await client.query('create table orders (id serial primary key, total numeric not null)');
      await client.query('insert into orders (total) values (10.5), (4.5)');
      const { rows } = await client.query('select sum(total)::text as sum from orders');
      expect(rows[0].sum).toBe('15.0');
    } finally {
      await client.end();
    }
  });
});

describe('a static site', () => {
  it('serves the page it was given', async () => {
    const container = await new GenericContainer(NGINX)
      .withCopyContentToContainer([{ content: '<h1>Shop</h1>\n', target: '/usr/share/nginx/html/index.html' }])
      .withExposedPorts(80)
      .withWaitStrategy(Wait.forHttp('/', 80).forStatusCode(200))
      .start();
    try {
      const res = await fetch(`http://${container.getHost()}:${container.getMappedPort(80)}/`);
      expect(await res.text()).toBe('<h1>Shop</h1>\n');
    } finally {
      await container.stop();
    }
  });
});

describe('two containers on a network', () => {
  it('reach each other by alias', async () => {
    const network = await new Network().start();
    const cache = await new GenericContainer(REDIS).withNetwork(network).withNetworkAliases('cache').withExposedPorts(6379).start();
    const other = await new GenericContainer(REDIS).withNetwork(network).withExposedPorts(6379).start();
    try {
      const { output, exitCode } = await other.exec(['redis-cli', '-h', 'cache', 'ping']);
      expect(exitCode).toBe(0);
      expect(output.trim()).toBe('PONG');
    } finally {
      await other.stop();
      await cache.stop();
      await network.stop();
    }
  });
});
