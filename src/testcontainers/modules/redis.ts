/** `mayfly/testcontainers/redis`: @testcontainers/redis's API on mayfly. */
export { RedisContainer } from './redis-container.js';
export { StartedRedisContainer } from './started-redis-container.js';
