// The app under test: product lookups from an upstream catalog API, cached in Redis, and a view
// counter kept in Redis.

/** @param {{ apiUrl: string, redis: import('ioredis').Redis, ttlSeconds?: number }} deps */
function createCatalog({ apiUrl, redis, ttlSeconds = 60 }) {
  return {
    /** The product with this id, or null when the API does not know it. */
    async getProduct(id) {
      const cached = await redis.get(`product:${id}`);
      if (cached) return JSON.parse(cached);
      const res = await fetch(new URL(`products/${id}.json`, apiUrl));
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`catalog API answered ${res.status}`);
      const product = await res.json();
      await redis.set(`product:${id}`, JSON.stringify(product), 'EX', ttlSeconds);
      return product;
    },

    /** Counts a view of the product; returns how many it has had. */
    recordView(id) {
      return redis.incr(`views:${id}`);
    },
  };
}

module.exports = { createCatalog };
