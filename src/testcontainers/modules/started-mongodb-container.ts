/** A running MongoDB of MongoDBContainer and its connection string. */
import { AbstractStartedContainer } from '../abstract-started-container.js';
import type { StartedTestContainer } from '../test-container.js';

const MONGODB_PORT = 27017;

export class StartedMongoDBContainer extends AbstractStartedContainer {
  constructor(
    startedTestContainer: StartedTestContainer,
    private readonly username: string | undefined,
    private readonly password: string | undefined,
  ) {
    super(startedTestContainer);
  }

  /** `mongodb://host:port` (add `?directConnection=true`: the member's own address is the container's) */
  getConnectionString(): string {
    const host = this.getHost().includes(':') ? `[${this.getHost()}]` : this.getHost();
    if (this.username && this.password) return `mongodb://${encodeURIComponent(this.username)}:${encodeURIComponent(this.password)}@${host}:${this.getMappedPort(MONGODB_PORT)}?authSource=admin`;
    return `mongodb://${host}:${this.getMappedPort(MONGODB_PORT)}`;
  }
}
