/**
 * `new PostgreSqlContainer('postgres:16')`: Testcontainers' PostgreSQL module on mayfly's postgres
 * preset — data on tmpfs, durability off unless you give your own command, ready once the final
 * server answers a query over TCP with the password (not the first-start server); and, unless the
 * server is set up or awaited another way (a command, an entrypoint, TLS, a mount on its data, a
 * wait strategy), the preset's initialised-data snapshot: the first start of a configuration runs
 * initdb, later ones start from its result.
 */
import { postgresContainerOptions } from '../../presets/postgres.js';
import { PresetDatabaseContainer } from './preset-database-container.js';
import { StartedPostgreSqlContainer } from './started-postgresql-container.js';

const POSTGRES_PORT = 5432;
const PGDATA = '/var/lib/postgresql/data';
const SSL_DIR = '/tmp/testcontainers-node/postgres';

export class PostgreSqlContainer extends PresetDatabaseContainer {
  private password = 'test';
  private ssl?: { ca: boolean };

  constructor(image: string) {
    super(image, POSTGRES_PORT, postgresContainerOptions());
  }

  withPassword(password: string): this {
    this.password = password;
    return this;
  }

  /** the server speaks TLS with this certificate and key (and checks clients against the CA, when given) */
  withSSL(certFile: string, keyFile: string, caCertFile?: string): this {
    if (!certFile) throw new Error('SSL certificate file should not be empty.');
    if (!keyFile) throw new Error('SSL key file should not be empty.');
    if (caCertFile !== undefined && !caCertFile) throw new Error('SSL CA certificate file should not be empty.');
    // owned by postgres (uid 999) with mode 0600, as the server insists for its key
    const files = [
      { source: certFile, target: `${SSL_DIR}/server.crt` },
      { source: keyFile, target: `${SSL_DIR}/server.key` },
      ...(caCertFile ? [{ source: caCertFile, target: `${SSL_DIR}/ca_cert.pem` }] : []),
    ];
    this.withCopyFilesToContainer(files.map((f) => ({ ...f, target: `${f.target}.in` })));
    this.ssl = { ca: Boolean(caCertFile) };
    return this;
  }

  withSSLCert(caCertFile: string, certFile: string, keyFile: string): this {
    if (!caCertFile) throw new Error('SSL CA certificate file should not be empty.');
    return this.withSSL(certFile, keyFile, caCertFile);
  }

  override async start(): Promise<StartedPostgreSqlContainer> {
    const preset = postgresContainerOptions({ image: this.imageName.string, user: this.username, password: this.password, database: this.database });
    // (with TLS the server starts through our entrypoint line below: no snapshot, and "ready to accept
    // connections" is awaited as printed by a first start)
    this.applyPreset(preset, PGDATA, { POSTGRES_DB: this.database, POSTGRES_USER: this.username, POSTGRES_PASSWORD: this.password }, !this.ssl);
    if (this.ssl) {
      const ssl = ['-c', 'ssl=on', '-c', `ssl_cert_file=${SSL_DIR}/server.crt`, '-c', `ssl_key_file=${SSL_DIR}/server.key`, ...(this.ssl.ca ? ['-c', `ssl_ca_file=${SSL_DIR}/ca_cert.pem`] : [])];
      const command = this.command ?? preset.command!;
      if (command[0] === 'postgres') this.withCommand([...command, ...ssl]);
      // the key must belong to the server's user and be private: copies arrive as root's, so they are moved into place first
      this.withEntrypoint(['sh', '-c', `for f in ${SSL_DIR}/*.in; do install -o postgres -g postgres -m 0600 "$f" "\${f%.in}"; done; exec docker-entrypoint.sh "$@"`, 'sh']);
    } else if (!this.command) {
      this.withCommand(preset.command!);
    }
    return new StartedPostgreSqlContainer(await super.start(), this.database, this.username, this.password);
  }
}
