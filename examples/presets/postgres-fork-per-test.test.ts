// One PostgreSQL server per test file, and a database of its own for every test: migrate once,
// then each test gets a fork of the migrated database (CREATE DATABASE … TEMPLATE, ~tens of ms)
// instead of a server (or a cleanup script) of its own. Tests may run concurrently.
import { presets } from 'mayfly';
import pg from 'pg';
import { describe, expect, test as base } from 'vitest';

const test = base.extend<{ db: presets.StartedPostgres; sql: pg.Client }>({
  // started once per file (the first start of this configuration initialises; later ones start
  // from its initialised-data snapshot), migrated, and removed when the file is done
  db: [
    async ({}, use) => {
      const db = await presets.postgres({ tag: '15', database: 'shop' });
      const migrate = new pg.Client({ connectionString: db.connectionString() });
      await migrate.connect();
      await migrate.query('create table product (id serial primary key, name text not null, stock int not null)');
      await migrate.query("insert into product (name, stock) values ('kettle', 3), ('teapot', 1)");
      await migrate.end(); // a database is copied only while nobody is connected to it
      await use(db);
      await db.remove();
    },
    { scope: 'file' },
  ],
  // per test: a fresh copy of the migrated database, dropped afterwards
  sql: async ({ db }, use) => {
    const url = await db.fork();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await use(client);
    await client.end();
    await db.dropFork(url);
  },
});

describe.concurrent('stock', () => {
  test('selling the last teapot leaves none', async ({ sql }) => {
    await sql.query("update product set stock = stock - 1 where name = 'teapot'");
    const { rows } = await sql.query("select stock from product where name = 'teapot'");
    expect(rows[0].stock).toBe(0);
  });

  test('every test starts from the migrated state, whatever the others did', async ({ sql }) => {
    const { rows } = await sql.query('select name, stock from product order by id');
    expect(rows).toEqual([
      { name: 'kettle', stock: 3 },
      { name: 'teapot', stock: 1 },
    ]);
  });

  test('a product added here exists nowhere else', async ({ sql, db }) => {
    await sql.query("insert into product (name, stock) values ('mug', 12)");
    const shop = new pg.Client({ connectionString: db.connectionString() });
    await shop.connect();
    const { rows } = await shop.query("select count(*)::int as n from product where name = 'mug'");
    await shop.end();
    expect(rows[0].n).toBe(0);
  });
});
