/**
 * `new MySqlContainer('mysql:8')`: Testcontainers' MySQL module on mayfly's mysql preset — the
 * official image's settings (MYSQL_DATABASE, MYSQL_USER, …), data on tmpfs, durability off unless
 * you give your own command, ready once the final server answers a query over TCP as the user (the
 * image's first-start server listens on its socket only); and, unless the server is set up or
 * awaited another way (a command, an entrypoint, a mount on its data, a wait strategy), the
 * preset's initialised-data snapshot.
 */
import { mysqlContainerOptions } from '../../presets/mysql.js';
import { PresetDatabaseContainer } from './preset-database-container.js';
import { StartedMySqlContainer } from './started-mysql-container.js';

const MYSQL_PORT = 3306;
const DATADIR = '/var/lib/mysql';

export class MySqlContainer extends PresetDatabaseContainer {
  private userPassword = 'test';
  private rootPassword = 'test';

  constructor(image: string) {
    super(image, MYSQL_PORT, mysqlContainerOptions());
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
    this.applyPreset(preset, DATADIR, { MYSQL_DATABASE: this.database, MYSQL_ROOT_PASSWORD: this.rootPassword, ...(this.username !== 'root' ? { MYSQL_USER: this.username, MYSQL_PASSWORD: this.userPassword } : {}) });
    if (!this.command && !this.entrypoint) this.withCommand(preset.command!);
    return new StartedMySqlContainer(await super.start(), this.database, this.username, this.userPassword, this.rootPassword);
  }
}
