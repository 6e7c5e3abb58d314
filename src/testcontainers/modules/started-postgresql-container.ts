/** A running PostgreSQL of PostgreSqlContainer: its credentials, connection URI, and database snapshots. */
import { MayflyError } from '../../core/errors.js';
import { PostgresDatabases } from '../../presets/postgres-databases.js';
import { AbstractStartedContainer } from '../abstract-started-container.js';
import type { StartedTestContainer } from '../test-container.js';

const POSTGRES_PORT = 5432;
/** Testcontainers' default snapshot name */
const DEFAULT_SNAPSHOT = 'migrated_template';

export class StartedPostgreSqlContainer extends AbstractStartedContainer {
  private snapshotName = DEFAULT_SNAPSHOT;
  private readonly databases: PostgresDatabases;

  constructor(
    startedTestContainer: StartedTestContainer,
    private readonly database: string,
    private readonly username: string,
    private readonly password: string,
  ) {
    super(startedTestContainer);
    // the preset's snapshots: template databases over one kept connection, not a psql run per statement
    this.databases = new PostgresDatabases(() => ({ host: this.getHost(), port: this.getPort(), user: username, password }), database);
  }

  getPort(): number {
    return this.getMappedPort(POSTGRES_PORT);
  }

  getDatabase(): string {
    return this.database;
  }

  getUsername(): string {
    return this.username;
  }

  getPassword(): string {
    return this.password;
  }

  /** `postgres://user:password@host:port/database`, parts percent-encoded */
  getConnectionUri(): string {
    const url = new URL('postgres://');
    url.hostname = this.getHost().includes(':') ? `[${this.getHost()}]` : this.getHost();
    url.port = String(this.getPort());
    url.pathname = this.database;
    url.username = this.username;
    url.password = this.password;
    return url.toString();
  }

  /** the default name of snapshot() and restoreSnapshot() */
  withSnapshotName(snapshotName: string): this {
    this.snapshotName = snapshotName;
    return this;
  }

  /** Keeps the database's current state as a template database named `snapshotName` (replacing an older one); nobody else may be connected meanwhile. */
  async snapshot(snapshotName = this.snapshotName): Promise<void> {
    this.checkSnapshotName(snapshotName);
    await this.databases.snapshot(snapshotName);
  }

  /** Puts the database back as it was at snapshot() (its sessions are ended). */
  async restoreSnapshot(snapshotName = this.snapshotName): Promise<void> {
    this.checkSnapshotName(snapshotName);
    await this.databases.restore(snapshotName);
  }

  /** Testcontainers' own refusals, in its words */
  private checkSnapshotName(snapshotName: string): void {
    if (this.database === 'postgres') throw new MayflyError('INVALID_OPTION', 'Snapshot feature is not supported when using the postgres system database', { hint: 'withDatabase("test") (the default) or any other name' });
    if (this.database === snapshotName) throw new MayflyError('INVALID_OPTION', 'Snapshot name cannot be the same as the database name');
  }

  override async stop(options?: Parameters<AbstractStartedContainer['stop']>[0]): ReturnType<AbstractStartedContainer['stop']> {
    await this.databases.close().catch(() => {});
    return super.stop(options);
  }
}
