/**
 * `presets.mysql()` and `presets.mariadb()`: a MySQL server from the official `mysql` image, or a
 * MariaDB server from the official `mariadb` image (the same contract: a database, a user and a
 * root password from the environment, /docker-entrypoint-initdb.d, port 3306). Data on tmpfs,
 * durability off, ready once the configured user's query over TCP is answered — the official
 * images initialise with a socket-only temporary server first, which a ping would already accept.
 * The first start of a configuration is kept as an initialised-data snapshot; later ones start from
 * it, without the system tables' install, the temporary server or the init scripts.
 */
import { z } from 'zod';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { initScriptCopies } from './init-scripts.js';
import { MysqlDatabases } from './mysql-databases.js';
import { StartedDatabase } from './started-database.js';
import { QueryWait, type QueryDialect } from './query-wait.js';
import { MysqlConnection, MysqlServerError } from './mysql-wire.js';
import { imageOptions, imageReference, parsePresetOptions, snapshotOption } from './preset-options.js';
import { existingDirectory } from './preset-paths.js';

export const MYSQL_IMAGE = 'mysql';
export const MYSQL_DEFAULT_TAG = '8.4';
export const MARIADB_IMAGE = 'mariadb';
export const MARIADB_DEFAULT_TAG = '11';
const PORT = 3306;

/** ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR: the login is wrong */
const LOGIN_REFUSED = new Set([1045, 1044]);
const MYSQL_QUERY: QueryDialect = {
  connect: (o) => MysqlConnection.connect(o),
  probe: 'SELECT 1',
  refusesLogin: (e) => e instanceof MysqlServerError && LOGIN_REFUSED.has(e.errno),
};
const DATADIR = '/var/lib/mysql';

type Flavour = 'mysql' | 'mariadb';

/**
 * Durability traded for speed, and small redo logs (created at initialisation, kept in every
 * snapshot). `loose-`: a server that does not know the setting (MySQL's redo capacity on MariaDB,
 * MariaDB's log file size on MySQL 8.4) ignores it instead of refusing to start.
 */
const FAST: Record<string, string> = {
  'innodb-flush-log-at-trx-commit': '0',
  'loose-innodb-doublewrite': 'OFF',
  'loose-sync-binlog': '0',
  'loose-skip-log-bin': '',
  'loose-innodb-redo-log-capacity': '8M',
  'loose-innodb-log-file-size': '8M',
  // MySQL's (on by default) costs start-up time and memory; MariaDB has it off already
  'loose-performance-schema': 'OFF',
  // Start-up work that grows with these sizes and buys a test database nothing (measured in
  // bench/results/database-start-profile.md): the server prepares its caches at start — the Aria
  // page cache (MariaDB's system tables) and MyISAM key cache, 128 MB each by default, InnoDB's
  // buffer pool (128 MB) and log buffer (16 MB) — writes its temporary tablespace out in full
  // (12 MB) and reads and writes a buffer pool dump around every start and stop. `config` raises
  // any of them for a suite with more data.
  'loose-innodb-buffer-pool-size': '32M',
  'loose-innodb-log-buffer-size': '2M',
  'loose-aria-pagecache-buffer-size': '8M',
  'loose-key-buffer-size': '8M',
  'loose-innodb-temp-data-file-path': 'ibtmp1:1M:autoextend',
  'loose-innodb-buffer-pool-load-at-startup': 'OFF',
  'loose-innodb-buffer-pool-dump-at-shutdown': 'OFF',
};

const name = z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, { message: 'expected 1 to 64 letters, digits, _ or $' });
const settingName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { message: 'expected a server option name like "max_connections"' });

export const mysqlOptionsSchema = z.strictObject({
  ...imageOptions,
  ...snapshotOption,
  /** the user the connection string logs in as (MYSQL_USER), with every privilege on `database`; `root` for root itself; default `test` */
  user: z.string().regex(/^[A-Za-z0-9_.-]{1,32}$/, { message: 'expected 1 to 32 letters, digits, _ . or -' }).default('test'),
  /** its password; default `test` */
  password: z.string().min(1, { message: 'the images refuse an empty password for a user' }).default('test'),
  /** root's password (root may connect from anywhere); default the same as `password` */
  rootPassword: z.string().min(1).optional(),
  /** the database created at start (MYSQL_DATABASE); default `test` */
  database: name.default('test'),
  /** server options, each passed as `--name=value`; they override the fast defaults */
  config: z.record(settingName, z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** a host directory of *.sql, *.sql.gz, *.sh run once at the first start, in name order (/docker-entrypoint-initdb.d) */
  initScripts: existingDirectory.optional(),
});

export type MysqlOptions = z.input<typeof mysqlOptionsSchema>;
type Resolved = z.output<typeof mysqlOptionsSchema>;

export class StartedMysql extends StartedDatabase {
  /** @internal */
  constructor(
    started: StartedContainer,
    private readonly preset: string,
    readonly user: string,
    readonly password: string,
    readonly rootPassword: string,
    readonly database: string,
  ) {
    super(started);
  }

  protected makeCopies(): MysqlDatabases {
    return new MysqlDatabases(this.preset, () => ({ host: this.host, port: this.mappedPort, user: 'root', password: this.rootPassword }), this.database, this.user === 'root' ? undefined : this.user);
  }

  /** The host port the server listens on. */
  get mappedPort(): number {
    return this.port(PORT);
  }

  /** `mysql://user:password@127.0.0.1:PORT/database` (another `database` if given), for mysql2, Prisma, TypeORM … */
  connectionString(database = this.database): string {
    return `mysql://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@${this.address(PORT)}/${encodeURIComponent(database)}`;
  }


}

export function mysqlContainerOptions(input: MysqlOptions = {}): HarnessOptions {
  return containerOptions('mysql', parsePresetOptions('mysql', mysqlOptionsSchema, input));
}

export function mariadbContainerOptions(input: MysqlOptions = {}): HarnessOptions {
  return containerOptions('mariadb', parsePresetOptions('mariadb', mysqlOptionsSchema, input));
}

function containerOptions(flavour: Flavour, o: Resolved): HarnessOptions {
  // MariaDB's image reads MARIADB_* (and MYSQL_* as aliases); MySQL's only MYSQL_*
  const v = flavour === 'mariadb' ? 'MARIADB' : 'MYSQL';
  const rootPassword = o.rootPassword ?? o.password;
  const env: Record<string, string> = { [`${v}_ROOT_PASSWORD`]: rootPassword, [`${v}_DATABASE`]: o.database };
  // the images refuse MYSQL_USER=root: root is there already
  if (o.user !== 'root') Object.assign(env, { [`${v}_USER`]: o.user, [`${v}_PASSWORD`]: o.password });
  const settings = { ...FAST, ...Object.fromEntries(Object.entries(o.config).map(([k, val]) => [k.replace(/_/g, '-'), settingValue(val)])) };
  const serverArgs = Object.entries(settings).map(([k, val]) => (val === '' ? `--${k}` : `--${k}=${val}`));
  return {
    image: flavour === 'mariadb' ? imageReference('mariadb', MARIADB_IMAGE, MARIADB_DEFAULT_TAG, o) : imageReference('mysql', MYSQL_IMAGE, MYSQL_DEFAULT_TAG, o),
    env,
    // arguments only: the entrypoint runs the image's server with them (mysqld, mariadbd)
    command: serverArgs,
    exposedPorts: [PORT],
    tmpfs: { [DATADIR]: 'mode=0755' },
    ...(o.initScripts ? { copies: initScriptCopies(o.initScripts) } : {}),
    wait: new QueryWait(PORT, { user: o.user, password: o.user === 'root' ? rootPassword : o.password, database: o.database }, MYSQL_QUERY),
    ...(o.startupTimeout ? { startupTimeout: o.startupTimeout } : {}),
    // the datadir after the first start, the server stopped by SIGTERM (a clean shutdown, exit 0);
    // later starts run the server itself as the mysql user (both images have the account, and the
    // server binary on PATH): the entrypoint would only find the datadir initialised and exec it
    initSnapshot: { paths: [DATADIR], enabled: o.snapshot, run: { entrypoint: [flavour === 'mariadb' ? 'mariadbd' : 'mysqld'], command: serverArgs, user: 'mysql' } },
  };
}

function settingValue(v: string | number | boolean): string {
  return typeof v === 'boolean' ? (v ? 'ON' : 'OFF') : String(v);
}

async function start(flavour: Flavour, options: MysqlOptions, startOptions: StartOptions): Promise<StartedMysql> {
  const preset = `presets.${flavour}`;
  const o = parsePresetOptions(flavour, mysqlOptionsSchema, options);
  const started = await startContainer(containerOptions(flavour, o), startOptions);
  const password = o.user === 'root' ? (o.rootPassword ?? o.password) : o.password;
  return new StartedMysql(started, preset, o.user, password, o.rootPassword ?? o.password, o.database);
}

/**
 * A running MySQL (`mysql:8.4` by default), ready for queries as the configured user:
 * `await using db = await presets.mysql()`, then `mysql.createConnection(db.connectionString())`.
 */
export function mysql(options: MysqlOptions = {}, startOptions: StartOptions = {}): Promise<StartedMysql> {
  return start('mysql', options, startOptions);
}

/** A running MariaDB (`mariadb:11` by default); the same options and helpers as `presets.mysql()`. */
export function mariadb(options: MysqlOptions = {}, startOptions: StartOptions = {}): Promise<StartedMysql> {
  return start('mariadb', options, startOptions);
}
