/**
 * What the SQL database presets (postgres, mysql, mariadb) add for per-test isolation without a
 * restart: snapshots of the database, and forks — fresh databases cloned from it on the same
 * server. Each preset supplies how its server copies a database (template databases, schema copies).
 */
import { StartedService } from './started-service.js';

export const DEFAULT_SNAPSHOT = 'mayfly_snapshot';

/** A server's way of copying databases, reached through one kept admin connection. */
export interface DatabaseCopies {
  snapshot(name: string): Promise<void>;
  restore(name: string): Promise<void>;
  /** the new database's name */
  fork(opts: { from?: string; name?: string }): Promise<string>;
  dropFork(name: string): Promise<void>;
  close(): Promise<void>;
}

export abstract class StartedDatabase extends StartedService {
  private copies: DatabaseCopies | undefined;

  /** How this server copies databases (made on first use, closed with the container). */
  protected abstract makeCopies(): DatabaseCopies;

  private get databases(): DatabaseCopies {
    return (this.copies ??= this.makeCopies());
  }

  /** The connection string of this database, or of another one on the same server. */
  abstract connectionString(database?: string): string;

  /**
   * Keeps the database as it is now as snapshot `name` (default `mayfly_snapshot`), e.g. after the
   * migrations. Nobody else may be connected to it meanwhile: close the client that migrated it first.
   */
  snapshot(name = DEFAULT_SNAPSHOT): Promise<void> {
    return this.databases.snapshot(name);
  }

  /** Puts the database back as snapshot `name` holds it; sessions connected to it are ended (clients reconnect). */
  restore(name = DEFAULT_SNAPSHOT): Promise<void> {
    return this.databases.restore(name);
  }

  /** Testcontainers' name for restore(). */
  restoreSnapshot(name = DEFAULT_SNAPSHOT): Promise<void> {
    return this.restore(name);
  }

  /**
   * A new database cloned from the database's current state (or from snapshot `from`), for one
   * test; returns its connection string. The source must have no other sessions (fork from a
   * snapshot while clients use the database).
   */
  async fork(opts: { from?: string; name?: string } = {}): Promise<string> {
    return this.connectionString(await this.databases.fork(opts));
  }

  /** Drops a database fork() made, from its connection string or name (its sessions are ended). */
  async dropFork(fork: string): Promise<void> {
    await this.databases.dropFork(fork.includes('://') ? decodeURIComponent(new URL(fork).pathname.slice(1)) : fork);
  }

  override async remove(): Promise<void> {
    await this.copies?.close().catch(() => {});
    await super.remove();
  }
}
