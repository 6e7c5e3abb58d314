/**
 * Code written against @testcontainers/redis and @testcontainers/mongodb 11's types, type-checked
 * against mayfly's modules (tsconfig.testcontainers.json maps the imports); those two are not
 * dependencies of this project, so this file is checked against mayfly's only. Never run.
 */
import { MongoDBContainer, StartedMongoDBContainer } from '@testcontainers/mongodb';
import { RedisContainer, StartedRedisContainer } from '@testcontainers/redis';

export async function modules(): Promise<string[]> {
  const redis: StartedRedisContainer = await new RedisContainer('redis:7').withPassword('p').withPersistence('/data').withInitialData('/import.redis').start();
  const mongo: StartedMongoDBContainer = await new MongoDBContainer('mongo:8').withUsername('u').withPassword('p').start();
  const pong: string = await redis.executeCliCmd('PING', []);
  return [redis.getConnectionUrl(), redis.getPassword(), String(redis.getPort()), pong, mongo.getConnectionString()];
}
