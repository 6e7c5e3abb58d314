/**
 * `presets.postgres()`: a PostgreSQL server from the official `postgres` image, its data on tmpfs
 * and durability off (a test database never needs to survive a crash), ready once it answers a
 * query over TCP with the configured password — the server that runs after the image's first-start
 * initialisation, not the temporary one `pg_isready` would already accept.
 */
import { z } from 'zod';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { PostgresDatabases } from './postgres-databases.js';
import { StartedDatabase } from './started-database.js';
import { QueryWait, type QueryDialect } from './query-wait.js';
import { PgConnection, PgServerError } from './postgres-wire.js';
import { imageOptions, imageReference, parsePresetOptions, snapshotOption } from './preset-options.js';
import { existingDirectory } from './preset-paths.js';
import { initScriptCopies } from './init-scripts.js';

export const POSTGRES_IMAGE = 'postgres';
export const POSTGRES_DEFAULT_TAG = '17';
const PORT = 5432;

/** SQLSTATE 28P01 / 28000: the password or the role is wrong */
const LOGIN_REFUSED = new Set(['28P01', '28000']);
const POSTGRES_QUERY: QueryDialect = {
  connect: (o) => PgConnection.connect(o),
  probe: 'select 1',
  refusesLogin: (e) => e instanceof PgServerError && LOGIN_REFUSED.has(e.code),
};
/** upstream's PGDATA up to 17; 18 moved it, and refuses a mount at this path only when PGDATA is elsewhere */
const PGDATA = '/var/lib/postgresql/data';

/**
 * Settings that trade durability for speed: right for a throwaway database (Testcontainers sets the
 * first). And a smaller shared memory: the server initialises it at every start, and 128 MB of it
 * (the default) cost more start-up time than a test database's few tables ever win back
 * (bench/results/database-start-profile.md); `config` raises it for a suite that needs more.
 */
const FAST: Record<string, string> = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', shared_buffers: '16MB', huge_pages: 'off' };

const identifier = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s) <= 63, { message: 'PostgreSQL names are at most 63 bytes' })
  .refine((s) => !s.includes('\0'), { message: 'no NUL characters' });
const settingName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, { message: 'expected a server setting name like "max_connections"' });

export const postgresOptionsSchema = z.strictObject({
  ...imageOptions,
  ...snapshotOption,
  /** the superuser (POSTGRES_USER); default `test` */
  user: identifier.default('test'),
  /** its password (POSTGRES_PASSWORD); default `test` */
  password: z.string().min(1, { message: 'the image refuses to initialise without a password' }).default('test'),
  /** the database created at start (POSTGRES_DB); default `test` */
  database: identifier.default('test'),
  /** server settings, each passed as `-c name=value`; they override the fast defaults (fsync=off, ...) */
  config: z.record(settingName, z.union([z.string(), z.number(), z.boolean()])).default({}),
  /** a host directory of *.sql, *.sql.gz, *.sh run once at start, in name order (the image's /docker-entrypoint-initdb.d) */
  initScripts: existingDirectory.optional(),
});

export type PostgresOptions = z.input<typeof postgresOptionsSchema>;
type Resolved = z.output<typeof postgresOptionsSchema>;

export class StartedPostgres extends StartedDatabase {
  /** @internal */
  constructor(
    started: StartedContainer,
    readonly user: string,
    readonly password: string,
    readonly database: string,
  ) {
    super(started);
  }

  protected makeCopies(): PostgresDatabases {
    return new PostgresDatabases(() => ({ host: this.host, port: this.mappedPort, user: this.user, password: this.password }), this.database);
  }



  /** The host port PostgreSQL listens on. */
  get mappedPort(): number {
    return this.port(PORT);
  }

  /** `postgres://user:password@127.0.0.1:PORT/database` (another `database` of the server if given), for `pg`, `postgres.js`, Prisma, psql … */
  connectionString(database = this.database): string {
    return `postgres://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@${this.address(PORT)}/${encodeURIComponent(database)}`;
  }
}

/** The container the preset asks the harness for (exported for tests and for `environment()` services). */
export function postgresContainerOptions(input: PostgresOptions = {}): HarnessOptions {
  return containerOptions(parsePresetOptions('postgres', postgresOptionsSchema, input));
}

function containerOptions(o: Resolved): HarnessOptions {
  const settings = { ...FAST, ...o.config };
  const serverArgs = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${settingValue(v)}`]);
  return {
    image: imageReference('postgres', POSTGRES_IMAGE, POSTGRES_DEFAULT_TAG, o),
    env: { POSTGRES_USER: o.user, POSTGRES_PASSWORD: o.password, POSTGRES_DB: o.database, PGDATA },
    command: ['postgres', ...serverArgs],
    exposedPorts: [PORT],
    tmpfs: { [PGDATA]: 'mode=0700' },
    ...(o.initScripts ? { copies: initScriptCopies(o.initScripts) } : {}),
    // over TCP with the password: only the final server listens there (the first-start one uses the socket alone)
    wait: new QueryWait(PORT, { user: o.user, password: o.password, database: o.database }, POSTGRES_QUERY),
    ...(o.startupTimeout ? { startupTimeout: o.startupTimeout } : {}),
    // the image's stop signal (SIGINT, a fast shutdown) leaves a cleanly shut down cluster; a later
    // start finds PG_VERSION there and skips initdb and the init scripts
    // and runs the server itself: the entrypoint would only find the data initialised and exec it
    initSnapshot: { paths: [PGDATA], enabled: o.snapshot, run: { entrypoint: ['postgres'], command: serverArgs, user: 'postgres' } },
  };
}

function settingValue(v: string | number | boolean): string {
  return typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
}

/**
 * A running PostgreSQL, ready for queries: `await using pg = await presets.postgres()`, then
 * `new pg.Client(pg.connectionString())`.
 */
export async function postgres(options: PostgresOptions = {}, start: StartOptions = {}): Promise<StartedPostgres> {
  const o = parsePresetOptions('postgres', postgresOptionsSchema, options);
  const started = await startContainer(containerOptions(o), start);
  return new StartedPostgres(started, o.user, o.password, o.database);
}
