/**
 * `new MySqlContainer('mysql:8')`: Testcontainers' MySQL module on mayfly's mysql preset — the
 * official image's settings (MYSQL_DATABASE, MYSQL_USER, …), data on tmpfs, durability off unless
 * you give your own command, ready once the final server answers a query over TCP as the user (the
 * image's first-start server listens on its socket only); and, unless the server is set up or
 * awaited another way (a command, an entrypoint, a mount on its data, a wait strategy), the
 * preset's initialised-data snapshot.
 */
import { mysqlContainerOptions } from '../../presets/mysql.js';
import { GenericContainer } from '../generic-container.js';
import { PresetWaitStrategy } from '../preset-wait-strategy.js';
import type { WaitStrategy } from '../wait-strategy.js';
import { StartedMySqlContainer } from './started-mysql-container.js';

const MYSQL_PORT = 3306;
const DATADIR = '/var/lib/mysql';

export class MySqlContainer extends GenericContainer {
  private database = 'test';
  private username = 'test';
  private userPassword = 'test';
  private rootPassword = 'test';
  /** the module's own wait, replaced at start() by the preset's with the credentials then set */
  private readonly defaultWait: WaitStrategy;

  constructor(image: string) {
    super(image);
    this.withExposedPorts(MYSQL_PORT).withStartupTimeout(120_000);
    this.defaultWait = new PresetWaitStrategy(mysqlContainerOptions().wait!);
    this.waitStrategy = this.defaultWait;
  }

  withDatabase(database: string): this {
    this.database = database;
    return this;
  }

  withUsername(username: string): this {
    this.username = username;
    return this;
  }

  withRootPassword(rootPassword: string): this {
    this.rootPassword = rootPassword;
    return this;
  }

  withUserPassword(userPassword: string): this {
    this.userPassword = userPassword;
    return this;
  }

  override async start(): Promise<StartedMySqlContainer> {
    const preset = mysqlContainerOptions({ image: this.imageName.string, database: this.database, user: this.username, password: this.userPassword, rootPassword: this.rootPassword });
    this.withEnvironment({ ...preset.env, ...this.environment, MYSQL_DATABASE: this.database, MYSQL_ROOT_PASSWORD: this.rootPassword, ...(this.username !== 'root' ? { MYSQL_USER: this.username, MYSQL_PASSWORD: this.userPassword } : {}) });
    const ownWait = this.waitStrategy === this.defaultWait;
    if (ownWait) this.waitStrategy = new PresetWaitStrategy(preset.wait!).withStartupTimeout(this.defaultWait.getStartupTimeout());
    const datadirMounted = this.bindMounts.some((b) => b.target === DATADIR) || this.tmpFs[DATADIR] !== undefined;
    // the snapshot runs the server as the preset does, and a start from it prints no first-start lines:
    // only for the preset's set-up and wait
    if (ownWait && !datadirMounted && !this.command && !this.entrypoint) this.initSnapshot = preset.initSnapshot;
    if (!datadirMounted) this.withTmpFs(preset.tmpfs ?? {});
    if (!this.command && !this.entrypoint) this.withCommand(preset.command!);
    return new StartedMySqlContainer(await super.start(), this.database, this.username, this.userPassword, this.rootPassword);
  }
}
