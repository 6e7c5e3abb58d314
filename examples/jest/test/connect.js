// The app wired to this test file's Redis (`mayfly.services.redis`, started by the test environment
// for this file) and to the catalog API the whole run shares (`mayfly.shared.catalogApi`).
const { Redis } = require('ioredis');
const { createCatalog } = require('../src/catalog');

function connect() {
  const { redis } = mayfly.services;
  const client = new Redis(redis.port(6379), redis.host);
  const catalog = createCatalog({ apiUrl: mayfly.shared.catalogApi.url(80), redis: client });
  return { client, catalog };
}

module.exports = { connect };
