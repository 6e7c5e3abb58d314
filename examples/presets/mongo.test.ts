// MongoDB as a single-node replica set (so transactions and change streams work), seeded from a
// folder of COLLECTION.json files and .js scripts, with the official driver.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presets } from 'mayfly';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, expect, test } from 'vitest';

const seed = mkdtempSync(join(tmpdir(), 'example-seed-'));
writeFileSync(join(seed, 'products.json'), JSON.stringify([{ sku: 'a1', stock: 3 }, { sku: 'b2', stock: 0 }]));
writeFileSync(join(seed, 'indexes.js'), 'db.products.createIndex({ sku: 1 }, { unique: true });');

let mongo: presets.StartedMongo;
let client: MongoClient;
beforeAll(async () => {
  mongo = await presets.mongo({ replicaSet: true, database: 'shop', seed });
  client = new MongoClient(mongo.connectionString()); // mongodb://127.0.0.1:PORT/shop?directConnection=true
}, 300_000);
afterAll(async () => {
  await client?.close();
  await mongo?.remove();
  rmSync(seed, { recursive: true, force: true });
});

test('the seed data is there', async () => {
  expect(await client.db().collection('products').countDocuments({ stock: { $gt: 0 } })).toBe(1);
});

test('a transaction moves stock atomically', async () => {
  const products = client.db().collection<{ sku: string; stock: number }>('products');
  await client.withSession((session) =>
    session.withTransaction(async () => {
      await products.updateOne({ sku: 'a1' }, { $inc: { stock: -1 } }, { session });
      await products.updateOne({ sku: 'b2' }, { $inc: { stock: 1 } }, { session });
    }),
  );
  expect((await products.find().sort({ sku: 1 }).toArray()).map((p) => p.stock)).toEqual([2, 1]);
});
