/**
 * Code written against @testcontainers/postgresql and @testcontainers/mysql 11, type-checked
 * against them (tsconfig.check.json: they are dev dependencies) and against mayfly's modules
 * (tsconfig.testcontainers.json maps the imports). Never run.
 */
import { MySqlContainer, StartedMySqlContainer } from '@testcontainers/mysql';
import { PostgreSqlContainer, StartedPostgreSqlContainer } from '@testcontainers/postgresql';

export async function sqlModules(): Promise<string[]> {
  const pg: StartedPostgreSqlContainer = await new PostgreSqlContainer('postgres:16')
    .withDatabase('db')
    .withUsername('u')
    .withPassword('p')
    .withSSL('/cert.pem', '/key.pem', '/ca.pem')
    .withSSLCert('/ca.pem', '/cert.pem', '/key.pem')
    .withExposedPorts(5432)
    .start();
  await pg.withSnapshotName('snap').snapshot();
  await pg.restoreSnapshot('snap');
  const mysql: StartedMySqlContainer = await new MySqlContainer('mysql:8').withDatabase('d').withUsername('u').withRootPassword('r').withUserPassword('p').start();
  const rows: string = await mysql.executeQuery('select 1', ['--batch'], true);
  return [
    pg.getConnectionUri(), pg.getDatabase(), pg.getUsername(), pg.getPassword(), String(pg.getPort()),
    mysql.getConnectionUri(), mysql.getConnectionUri(true), mysql.getDatabase(), mysql.getUsername(), mysql.getUserPassword(), mysql.getRootPassword(), String(mysql.getPort()), rows,
  ];
}
