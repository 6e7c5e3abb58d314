/** A running Redis of RedisContainer: its port, password, connection URL and redis-cli. */
import { MayflyError } from '../../core/errors.js';
import { AbstractStartedContainer } from '../abstract-started-container.js';
import type { StartedTestContainer } from '../test-container.js';

const REDIS_PORT = 6379;

export class StartedRedisContainer extends AbstractStartedContainer {
  constructor(
    startedTestContainer: StartedTestContainer,
    private readonly password?: string | undefined,
  ) {
    super(startedTestContainer);
  }

  getPort(): number {
    return this.getMappedPort(REDIS_PORT);
  }

  getPassword(): string {
    return this.password ?? '';
  }

  /** `redis://host:port`, `redis://:password@host:port` with a password */
  getConnectionUrl(): string {
    const url = new URL('redis://');
    url.hostname = this.getHost().includes(':') ? `[${this.getHost()}]` : this.getHost();
    url.port = String(this.getPort());
    url.password = this.getPassword();
    return url.toString();
  }

  /** `redis-cli CMD FLAGS…` in the container (authenticated through REDISCLI_AUTH); its output */
  async executeCliCmd(cmd: string, additionalFlags: string[] = []): Promise<string> {
    const r = await this.exec(['redis-cli', cmd, ...additionalFlags]);
    if (r.exitCode !== 0) throw new MayflyError('EXEC_FAILED', `executeCliCmd failed with exit code ${r.exitCode} for command: ${cmd}: ${r.output.trim()}`);
    return r.output;
  }
}
