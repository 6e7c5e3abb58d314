/**
 * Per-test isolation on one running MySQL or MariaDB: neither has template databases, so a
 * database is copied by its schema — each table as SHOW CREATE TABLE gives it (indexes, foreign
 * keys, AUTO_INCREMENT counters), its rows by INSERT … SELECT, then views (their references to the
 * source rewritten), triggers, procedures and functions — over one kept connection as root, in
 * three round trips plus the copy itself:
 *   snapshot(name)  the database as it is now, copied into database `name` (no grant: the
 *                   application user cannot see it)
 *   restore(name)   the database's sessions ended, the database dropped and copied back from `name`
 *   fork()          a new database copied from the current state (or a snapshot), which the
 *                   configured user may use, for one test
 * Events are not copied (a copy would run them on its own schedule): a database with events is
 * refused, naming them. The copy is not one point in time: take it while nobody writes.
 */
import { MayflyError } from '../core/errors.js';
import { MysqlConnection, MysqlServerError, quoteIdent, quoteLiteral, type MysqlConnectOptions, type MysqlResult } from './mysql-wire.js';

interface Schema {
  charset: string;
  collation: string;
  tables: string[];
  views: string[];
  columns: Map<string, string[]>;
  triggers: string[];
  routines: { name: string; type: 'PROCEDURE' | 'FUNCTION' }[];
  events: string[];
}

export class MysqlDatabases {
  private admin: Promise<MysqlConnection> | undefined;
  private forks = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly preset: string,
    /** root's login: only root may create, copy and drop databases and grant them */
    private readonly connectOptions: () => Omit<MysqlConnectOptions, 'database'>,
    /** the database the preset made: what snapshot, restore and fork work on */
    readonly database: string,
    /** the configured user (none when it is root), granted every fork */
    private readonly appUser: string | undefined,
  ) {}

  snapshot(name: string): Promise<void> {
    return this.serial(async (my) => {
      this.checkName('snapshot', name);
      await my.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      await this.copy(my, this.database, name);
    });
  }

  restore(name: string): Promise<void> {
    return this.serial(async (my) => {
      this.checkName('snapshot', name);
      await this.mustExist(my, name);
      // its sessions are ended (a DROP would wait for their open transactions): clients reconnect
      const [sessions] = await my.query(`SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ${quoteLiteral(this.database)} AND ID <> CONNECTION_ID()`);
      for (const [id] of sessions!.rows) await my.query(`KILL ${Number(id)}`).catch(() => {});
      await my.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.database)}`);
      await this.copy(my, name, this.database);
    });
  }

  /** A new database cloned from the current state (or from snapshot `from`); returns its name. */
  fork(opts: { from?: string; name?: string } = {}): Promise<string> {
    return this.serial(async (my) => {
      if (opts.from !== undefined) this.checkName('from', opts.from);
      const from = opts.from ?? this.database;
      const name = opts.name ?? forkName(this.database, ++this.forks);
      this.checkName('name', name);
      if (opts.from !== undefined) await this.mustExist(my, from);
      await this.copy(my, from, name);
      if (this.appUser) await my.query(`GRANT ALL PRIVILEGES ON ${quoteIdent(name)}.* TO ${quoteLiteral(this.appUser)}@'%'`);
      return name;
    });
  }

  dropFork(name: string): Promise<void> {
    return this.serial(async (my) => {
      this.checkName('name', name);
      await my.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    });
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.close();
  }

  private async copy(my: MysqlConnection, from: string, to: string): Promise<void> {
    const schema = await readSchema(my, from);
    if (!schema) throw new MayflyError('DATABASE_ERROR', `${this.preset}: there is no database "${from}" to copy`);
    if (schema.events.length) {
      throw new MayflyError('DATABASE_ERROR', `${this.preset}: database "${from}" has events (${schema.events.join(', ')}), which a copy would run on their own schedule`, {
        hint: 'create the events in each test instead, or drop them before taking snapshots and forks',
      });
    }
    const src = quoteIdent(from);
    const dst = quoteIdent(to);
    // one round trip for every CREATE statement the copy replays
    const shows = [
      ...schema.tables.map((t) => `SHOW CREATE TABLE ${src}.${quoteIdent(t)}`),
      ...schema.views.map((v) => `SHOW CREATE VIEW ${src}.${quoteIdent(v)}`),
      ...schema.triggers.map((t) => `SHOW CREATE TRIGGER ${src}.${quoteIdent(t)}`),
      ...schema.routines.map((r) => `SHOW CREATE ${r.type} ${src}.${quoteIdent(r.name)}`),
    ];
    const shown = shows.length ? await my.query(shows.join(';\n')) : [];
    const createTables = shown.slice(0, schema.tables.length).map((r) => r.rows[0]![1]!);
    const createViews = shown.slice(schema.tables.length, schema.tables.length + schema.views.length).map((r) => rewriteSchema(r.rows[0]![1]!, from, to));
    const rest = shown.slice(schema.tables.length + schema.views.length);
    const triggers = rest.slice(0, schema.triggers.length).map((r) => ({ mode: r.rows[0]![1]!, create: r.rows[0]![2]! }));
    const routines = rest.slice(schema.triggers.length).map((r) => ({ mode: r.rows[0]![1]!, create: r.rows[0]![2]! }));
    if (routines.some((r) => r.create === null)) throw new MayflyError('DATABASE_ERROR', `${this.preset}: the definition of a routine of "${from}" cannot be read`);

    try {
      await my.query(
        [
          'SET SESSION FOREIGN_KEY_CHECKS = 0',
          'SET SESSION UNIQUE_CHECKS = 0',
          `CREATE DATABASE ${dst} CHARACTER SET ${quoteLiteral(schema.charset)} COLLATE ${quoteLiteral(schema.collation)}`,
          `USE ${dst}`,
          ...createTables,
          ...schema.tables.map((t) => {
            const cols = (schema.columns.get(t) ?? []).map(quoteIdent).join(', ');
            return `INSERT INTO ${dst}.${quoteIdent(t)} (${cols}) SELECT ${cols} FROM ${src}.${quoteIdent(t)}`;
          }),
          'SET SESSION FOREIGN_KEY_CHECKS = 1',
          'SET SESSION UNIQUE_CHECKS = 1',
        ].join(';\n'),
      );
      await createInDependencyOrder(my, createViews);
      // triggers after the rows (they must not fire for the copy), each in the SQL mode it was made in
      for (const s of [...triggers, ...routines]) await my.query(`SET SESSION sql_mode = ${quoteLiteral(s.mode)};\n${s.create}`);
    } catch (e) {
      await my.query(`DROP DATABASE IF EXISTS ${dst}`).catch(() => {});
      throw dbError(this.preset, `copying "${from}" to "${to}"`, e);
    } finally {
      await my.query('USE mysql; SET SESSION sql_mode = DEFAULT').catch(() => {});
    }
  }

  private async mustExist(my: MysqlConnection, name: string): Promise<void> {
    const [r] = await my.query(`SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${quoteLiteral(name)}`);
    if (!r!.rows.length) throw new MayflyError('SNAPSHOT_NOT_FOUND', `${this.preset}: there is no snapshot "${name}"`, { hint: `take it first: await db.snapshot(${JSON.stringify(name)})` });
  }

  private checkName(field: string, name: string): void {
    const problem = !/^[A-Za-z0-9_$]{1,64}$/.test(name)
      ? 'is not 1 to 64 letters, digits, _ or $'
      : name === this.database
        ? `is the database itself ("${this.database}")`
        : ['mysql', 'information_schema', 'performance_schema', 'sys'].includes(name.toLowerCase())
          ? "is one of the server's own databases"
          : undefined;
    if (problem) throw new MayflyError('INVALID_OPTION', `${this.preset}: ${field} "${name}" ${problem}`, { hint: 'name snapshots and forks after what they hold, e.g. "migrated"' });
  }

  private serial<T>(fn: (my: MysqlConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => fn(await this.connection()));
    this.queue = run.catch(() => {});
    return run;
  }

  private async connection(): Promise<MysqlConnection> {
    this.admin ??= MysqlConnection.connect({ ...this.connectOptions(), database: 'mysql' });
    try {
      return await this.admin;
    } catch (e) {
      this.admin = undefined;
      throw dbError(this.preset, 'connecting as root', e);
    }
  }
}

/** What the copy needs to know of a database, in one round trip; undefined when it does not exist. */
async function readSchema(my: MysqlConnection, db: string): Promise<Schema | undefined> {
  const d = quoteLiteral(db);
  const [schemata, tables, columns, triggers, routines, events] = (await my.query(
    [
      `SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${d}`,
      `SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${d} ORDER BY TABLE_NAME`,
      // generated columns are computed, not copied
      `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${d} AND EXTRA NOT REGEXP '(VIRTUAL|STORED|PERSISTENT) GENERATED' ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${d} ORDER BY TRIGGER_NAME`,
      `SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${d} ORDER BY ROUTINE_NAME`,
      `SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${d}`,
    ].join(';\n'),
  )) as [MysqlResult, MysqlResult, MysqlResult, MysqlResult, MysqlResult, MysqlResult];
  const row = schemata.rows[0];
  if (!row) return undefined;
  const cols = new Map<string, string[]>();
  for (const [t, c] of columns.rows) cols.set(t!, [...(cols.get(t!) ?? []), c!]);
  return {
    charset: row[0]!,
    collation: row[1]!,
    tables: tables.rows.filter((r) => r[1] === 'BASE TABLE').map((r) => r[0]!),
    views: tables.rows.filter((r) => r[1] === 'VIEW').map((r) => r[0]!),
    columns: cols,
    triggers: triggers.rows.map((r) => r[0]!),
    routines: routines.rows.map((r) => ({ name: r[0]!, type: r[1] as 'PROCEDURE' | 'FUNCTION' })),
    events: events.rows.map((r) => r[0]!),
  };
}

/** A view's definition names its tables with their database: the copy's must name the copy. */
export function rewriteSchema(createView: string, from: string, to: string): string {
  return createView.split(`${quoteIdent(from)}.`).join(`${quoteIdent(to)}.`);
}

/** Views may select from views: create those whose dependencies exist, again until all are or none can be. */
async function createInDependencyOrder(my: MysqlConnection, statements: string[]): Promise<void> {
  let left = statements;
  while (left.length) {
    const failed: string[] = [];
    let lastError: unknown;
    for (const s of left) {
      try {
        await my.query(s);
      } catch (e) {
        failed.push(s);
        lastError = e;
      }
    }
    if (failed.length === left.length) throw lastError;
    left = failed;
  }
}

function forkName(database: string, n: number): string {
  const suffix = `_fork${n}`;
  return database.slice(0, 64 - suffix.length) + suffix;
}

function dbError(preset: string, what: string, e: unknown): MayflyError {
  if (e instanceof MayflyError) return e;
  const code = e instanceof MysqlServerError ? ` (error ${e.errno})` : '';
  return new MayflyError('DATABASE_ERROR', `${preset}: ${what} failed: ${(e as Error).message}${code}`, { cause: e });
}
