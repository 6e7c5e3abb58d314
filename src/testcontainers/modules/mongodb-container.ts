/**
 * `new MongoDBContainer('mongo:8')`: Testcontainers' MongoDB module on mayfly's mongo preset — a
 * single-node replica set `rs0` (transactions, change streams), data on tmpfs, ready once the
 * member is a writable primary. Credentials (withUsername/withPassword) are not supported yet:
 * the preset's readiness check runs without them, so start() refuses them.
 */
import { MayflyError } from '../../core/errors.js';
import { mongoContainerOptions } from '../../presets/mongo.js';
import { GenericContainer } from '../generic-container.js';
import { PresetWaitStrategy } from '../preset-wait-strategy.js';
import { StartedMongoDBContainer } from './started-mongodb-container.js';

const MONGODB_PORT = 27017;

export class MongoDBContainer extends GenericContainer {
  private username?: string;
  private password?: string;

  constructor(image: string) {
    super(image);
    this.withExposedPorts(MONGODB_PORT).withStartupTimeout(120_000);
    this.waitStrategy = new PresetWaitStrategy(mongoContainerOptions({ replicaSet: 'rs0' }).wait!);
  }

  withUsername(username: string): this {
    if (!username) throw new Error('Username should not be empty.');
    this.username = username;
    return this;
  }

  withPassword(password: string): this {
    if (!password) throw new Error('Password should not be empty.');
    this.password = password;
    return this;
  }

  override async start(): Promise<StartedMongoDBContainer> {
    if (this.username || this.password) {
      throw new MayflyError('UNSUPPORTED', `MongoDBContainer("${this.imageName.string}"): withUsername/withPassword are not supported yet (mayfly's mongo preset checks readiness without credentials)`, {
        hint: 'connect without credentials: the container is reachable only from this machine',
      });
    }
    const preset = mongoContainerOptions({ image: this.imageName.string, replicaSet: 'rs0' });
    if (!this.command) this.withCommand(preset.command!);
    if (this.tmpFs['/data/db'] === undefined) this.withTmpFs(preset.tmpfs ?? {});
    return new StartedMongoDBContainer(await super.start(), this.username, this.password);
  }
}
