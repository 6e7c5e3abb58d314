/** `mayfly/testcontainers/mysql`: @testcontainers/mysql's API on mayfly. */
export { MySqlContainer } from './mysql-container.js';
export { StartedMySqlContainer } from './started-mysql-container.js';
