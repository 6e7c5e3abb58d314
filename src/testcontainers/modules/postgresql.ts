/** `mayfly/testcontainers/postgresql`: @testcontainers/postgresql's API on mayfly. */
export { PostgreSqlContainer } from './postgresql-container.js';
export { StartedPostgreSqlContainer } from './started-postgresql-container.js';
