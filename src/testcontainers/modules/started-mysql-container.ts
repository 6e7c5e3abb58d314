/** A running MySQL of MySqlContainer: credentials, connection URI, and queries through the mysql client inside. */
import { MayflyError } from '../../core/errors.js';
import { AbstractStartedContainer } from '../abstract-started-container.js';
import type { StartedTestContainer } from '../test-container.js';

const MYSQL_PORT = 3306;

export class StartedMySqlContainer extends AbstractStartedContainer {
  constructor(
    startedTestContainer: StartedTestContainer,
    private readonly database: string,
    private readonly username: string,
    private readonly userPassword: string,
    private readonly rootPassword: string,
  ) {
    super(startedTestContainer);
  }

  getPort(): number {
    return this.getMappedPort(MYSQL_PORT);
  }

  getDatabase(): string {
    return this.database;
  }

  getUsername(): string {
    return this.username;
  }

  getUserPassword(): string {
    return this.userPassword;
  }

  getRootPassword(): string {
    return this.rootPassword;
  }

  /** `mysql://user:password@host:port/database` (root's with `isRoot`) */
  getConnectionUri(isRoot = false): string {
    const url = new URL('mysql://');
    url.hostname = this.getHost().includes(':') ? `[${this.getHost()}]` : this.getHost();
    url.port = String(this.getPort());
    url.pathname = this.database;
    url.username = isRoot ? 'root' : this.username;
    url.password = isRoot ? this.rootPassword : this.userPassword;
    return url.toString();
  }

  /** Runs `query` with the mysql client inside the container (the password through its environment); its output. */
  async executeQuery(query: string, additionalFlags: string[] = [], isRoot = false): Promise<string> {
    const r = await this.exec(['mysql', '-h', '127.0.0.1', '-u', isRoot ? 'root' : this.username, '-e', `${query};`, ...additionalFlags], {
      env: { MYSQL_PWD: isRoot ? this.rootPassword : this.userPassword },
    });
    if (r.exitCode !== 0) throw new MayflyError('EXEC_FAILED', `executeQuery failed with exit code ${r.exitCode} for query: ${query}: ${r.output.trim()}`);
    return r.output;
  }
}
