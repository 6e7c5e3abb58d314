/**
 * Per-test isolation on one running PostgreSQL, through template databases (the way Testcontainers'
 * PostgreSqlContainer snapshots, over a kept connection instead of a `psql` run per call):
 *   snapshot(name)  the database as it is now, copied into database `name` (a template nobody may
 *                   connect to, so it can always be copied again)
 *   restore(name)   the database dropped (its sessions ended) and created again from `name`
 *   fork()          a new database copied from the current state (or a snapshot), for one test
 * PostgreSQL copies a database only while nobody else is connected to it: a busy source is an
 * error that says who is connected. Snapshots and forks need no connection to the source.
 */
import { MayflyError } from '../core/errors.js';
import { PgConnection, PgServerError, quoteIdent, quoteLiteral, type PgConnectOptions } from './postgres-wire.js';

/** PostgreSQL's SQLSTATE for "object in use" (a template with sessions, a database being dropped). */
const OBJECT_IN_USE = '55006';

export class PostgresDatabases {
  private admin: Promise<PgConnection> | undefined;
  private forks = 0;
  /** one operation at a time on the kept connection */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly connectOptions: () => Omit<PgConnectOptions, 'database'>,
    /** the database the preset made (POSTGRES_DB): what snapshot, restore and fork work on */
    readonly database: string,
  ) {}

  snapshot(name: string): Promise<void> {
    return this.serial(async (pg) => {
      checkName('snapshot', name, this.database);
      await dropTemplate(pg, name);
      await this.copy(pg, this.database, name, 'snapshot');
      await pg.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    });
  }

  restore(name: string): Promise<void> {
    return this.serial(async (pg) => {
      checkName('snapshot', name, this.database);
      await this.mustExist(pg, name);
      // its sessions are ended: after a restore, clients connect again (a pool does by itself)
      if (pg.serverVersionNum >= 130000) await pg.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.database)} WITH (FORCE)`);
      else {
        await pg.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${quoteLiteral(this.database)} AND pid <> pg_backend_pid()`);
        await pg.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.database)}`);
      }
      await this.copy(pg, name, this.database, 'restore');
    });
  }

  /** A new database cloned from the current state (or from snapshot `from`); returns its name. */
  fork(opts: { from?: string; name?: string } = {}): Promise<string> {
    return this.serial(async (pg) => {
      const from = opts.from ?? this.database;
      if (opts.from !== undefined) checkName('from', opts.from, this.database);
      const name = opts.name ?? forkName(this.database, ++this.forks);
      checkName('name', name, this.database);
      if (opts.from !== undefined) await this.mustExist(pg, from);
      await this.copy(pg, from, name, 'fork');
      return name;
    });
  }

  /** Drops a database made by fork() (its sessions are ended). */
  dropFork(name: string): Promise<void> {
    return this.serial(async (pg) => {
      checkName('name', name, this.database);
      await pg.query(pg.serverVersionNum >= 130000 ? `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    });
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.close();
  }

  private async copy(pg: PgConnection, from: string, to: string, what: string): Promise<void> {
    // FILE_COPY (15+): a copy of the files, two checkpoints that cost nothing with fsync off;
    // the default WAL_LOG writes every block of the source into the WAL
    const strategy = pg.serverVersionNum >= 150000 ? ' STRATEGY FILE_COPY' : '';
    try {
      await pg.query(`CREATE DATABASE ${quoteIdent(to)} TEMPLATE ${quoteIdent(from)}${strategy}`);
    } catch (e) {
      if (e instanceof PgServerError && e.code === OBJECT_IN_USE) {
        const who = await pg.query(`SELECT coalesce(nullif(application_name, ''), 'a client') || ' (pid ' || pid || ')' FROM pg_stat_activity WHERE datname = ${quoteLiteral(from)} AND pid <> pg_backend_pid()`);
        const sessions = who.rows.map((r) => r[0]);
        throw new MayflyError('DATABASE_BUSY', `presets.postgres ${what}: database "${from}" cannot be copied while other sessions are connected to it: ${sessions.join(', ') || e.message}`, {
          hint:
            what === 'fork'
              ? 'close the connections to it first (e.g. after migrating), or fork from a snapshot: db.snapshot() once, then db.fork({ from: name })'
              : 'close the connections to it first (end the pool or client that migrated it), then take the snapshot',
          details: { database: from, sessions },
        });
      }
      throw dbError(what, e);
    }
  }

  private async mustExist(pg: PgConnection, name: string): Promise<void> {
    const r = await pg.query(`SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(name)}`);
    if (!r.rows.length) throw new MayflyError('SNAPSHOT_NOT_FOUND', `presets.postgres: there is no snapshot "${name}"`, { hint: `take it first: await db.snapshot(${JSON.stringify(name)})` });
  }

  private serial<T>(fn: (pg: PgConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => fn(await this.connection()));
    this.queue = run.catch(() => {});
    return run;
  }

  private async connection(): Promise<PgConnection> {
    // a database nobody drops or copies: `postgres` (or template1 when the preset's database is `postgres`)
    const database = this.database === 'postgres' ? 'template1' : 'postgres';
    this.admin ??= PgConnection.connect({ ...this.connectOptions(), database });
    try {
      const pg = await this.admin;
      return pg;
    } catch (e) {
      this.admin = undefined;
      throw dbError('connect', e);
    }
  }
}

async function dropTemplate(pg: PgConnection, name: string): Promise<void> {
  const r = await pg.query(`SELECT datistemplate FROM pg_database WHERE datname = ${quoteLiteral(name)}`);
  if (!r.rows.length) return;
  if (r.rows[0]![0] === 't') await pg.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
  await pg.query(`DROP DATABASE ${quoteIdent(name)}`);
}

function forkName(database: string, n: number): string {
  const suffix = `_fork${n}`;
  let base = database;
  while (Buffer.byteLength(base + suffix) > 63) base = base.slice(0, -1);
  return base + suffix;
}

function checkName(field: string, name: string, database: string): void {
  const problem =
    name === '' ? 'is empty' : Buffer.byteLength(name) > 63 ? 'is longer than 63 bytes' : name.includes('\0') ? 'contains a NUL' : name === database ? `is the database itself ("${database}")` : ['postgres', 'template0', 'template1'].includes(name) ? "is one of PostgreSQL's own databases" : undefined;
  if (problem) throw new MayflyError('INVALID_OPTION', `presets.postgres: ${field} "${name}" ${problem}`, { hint: 'name snapshots and forks after what they hold, e.g. "migrated"' });
}

function dbError(what: string, e: unknown): MayflyError {
  if (e instanceof MayflyError) return e;
  const code = e instanceof PgServerError ? ` (SQLSTATE ${e.code})` : '';
  return new MayflyError('DATABASE_ERROR', `presets.postgres ${what} failed: ${(e as Error).message}${code}`, { cause: e });
}
