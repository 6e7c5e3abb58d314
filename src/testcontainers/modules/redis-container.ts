/**
 * `new RedisContainer('redis:7')`: Testcontainers' Redis module on mayfly's redis preset —
 * persistence off and /data on tmpfs (unless `withPersistence(dir)`), ready once `redis-cli ping`
 * answers PONG; the password reaches redis-cli through its environment, never a command line.
 */
import { redisContainerOptions } from '../../presets/redis.js';
import { MayflyError } from '../../core/errors.js';
import { GenericContainer } from '../generic-container.js';
import { PresetWaitStrategy } from '../preset-wait-strategy.js';
import type { StartedTestContainer } from '../test-container.js';
import { StartedRedisContainer } from './started-redis-container.js';

const REDIS_PORT = 6379;
const IMPORT_FILE = '/tmp/import.redis';

export class RedisContainer extends GenericContainer {
  private password?: string;
  private persistenceVolume = '';
  private initialImportScriptFile = '';

  constructor(image: string) {
    super(image);
    this.withExposedPorts(REDIS_PORT).withStartupTimeout(120_000);
    this.waitStrategy = new PresetWaitStrategy(redisContainerOptions().wait!);
  }

  withPassword(password: string): this {
    this.password = password;
    return this;
  }

  /** /data is this host directory, with snapshots and the append-only file on */
  withPersistence(sourcePath: string): this {
    this.persistenceVolume = sourcePath;
    return this;
  }

  /** a file of Redis commands (one per line) run once the server is ready */
  withInitialData(importScriptFile: string): this {
    this.initialImportScriptFile = importScriptFile;
    return this;
  }

  protected override async containerStarted(container: StartedTestContainer): Promise<void> {
    if (!this.initialImportScriptFile) return;
    const r = await container.exec(['sh', '-c', `redis-cli < ${IMPORT_FILE}`]);
    if (r.exitCode !== 0 || r.output.includes('ERR')) {
      throw new MayflyError('EXEC_FAILED', `Could not import initial data from ${this.initialImportScriptFile}: ${r.output.trim()}`);
    }
  }

  override async start(): Promise<StartedRedisContainer> {
    const preset = redisContainerOptions({ image: this.imageName.string, ...(this.password ? { password: this.password } : {}) });
    this.withEnvironment({ ...preset.env, ...this.environment });
    const auth = this.password ? ['--requirepass', this.password] : [];
    const base = this.command?.length ? this.command : ['redis-server'];
    if (this.persistenceVolume) {
      this.withCommand([...base, '--save', '1 1', '--appendonly', 'yes', ...auth]);
      this.withBindMounts([...this.bindMounts, { source: this.persistenceVolume, target: '/data', mode: 'rw' }]);
    } else {
      // no snapshots, no append-only file: nothing of a test's data is worth a disk write
      this.withCommand(this.command?.length ? [...base, ...auth] : preset.command!);
      if (this.tmpFs['/data'] === undefined) this.withTmpFs(preset.tmpfs ?? {});
    }
    if (this.initialImportScriptFile) this.withCopyFilesToContainer([{ source: this.initialImportScriptFile, target: IMPORT_FILE, mode: 0o644 }]);
    return new StartedRedisContainer(await super.start(), this.password);
  }
}
