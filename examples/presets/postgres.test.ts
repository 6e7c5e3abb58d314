// A PostgreSQL server for a test file, reached with `pg`: started once, ready for queries, gone after.
import { presets } from 'mayfly';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';

let db: presets.StartedPostgres;
beforeAll(async () => {
  // pin the major version production runs (the preset's default is postgres:17)
  db = await presets.postgres({ tag: '15', database: 'shop' });
}, 120_000);
afterAll(() => db?.remove());

test('orders are stored and summed', async () => {
  const client = new pg.Client({ connectionString: db.connectionString() }); // postgres://test:test@127.0.0.1:PORT/shop
  await client.connect();
  try {
    await client.query('create table orders (id serial primary key, total numeric not null)');
    await client.query('insert into orders (total) values ($1), ($2)', [12.5, 7.5]);
    const { rows } = await client.query<{ sum: string }>('select sum(total) from orders');
    expect(rows[0]?.sum).toBe('20.0');
  } finally {
    await client.end();
  }
});
