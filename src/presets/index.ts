/**
 * Presets: a known service, started and ready, with what a test needs to reach it —
 * `await using pg = await presets.postgres()`, `pg.connectionString()`. Each runs the service's
 * official image by its upstream name (so registry mirrors apply; `image`/`tag` choose another),
 * keeps its data on tmpfs, and is ready when the service answers, not when a port opens.
 */
export { postgres, postgresContainerOptions, StartedPostgres, POSTGRES_DEFAULT_TAG, POSTGRES_IMAGE, type PostgresOptions } from './postgres.js';
export { redis, redisContainerOptions, StartedRedis, REDIS_DEFAULT_TAG, REDIS_IMAGE, type RedisOptions } from './redis.js';
export { mongo, mongoContainerOptions, StartedMongo, MONGO_DEFAULT_TAG, MONGO_IMAGE, type MongoOptions } from './mongo.js';
export { staticSite, StartedStaticSite, NGINX_DEFAULT_TAG, NGINX_IMAGE, type StaticSiteOptions } from './static-site.js';
export { StartedService } from './started-service.js';
export { StartedDatabase } from './started-database.js';
export { mysql, mariadb, mysqlContainerOptions, mariadbContainerOptions, StartedMysql, MYSQL_DEFAULT_TAG, MYSQL_IMAGE, MARIADB_DEFAULT_TAG, MARIADB_IMAGE, type MysqlOptions } from './mysql.js';
