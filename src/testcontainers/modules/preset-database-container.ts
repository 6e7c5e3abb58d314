/**
 * What the database modules share: Testcontainers' database and user setters, and mayfly's preset
 * for the server applied at start — the preset's wait (a real query as the user), data on tmpfs
 * and the initialised-data snapshot — each only where the user has not set that part up another
 * way (a wait strategy, a mount on the data directory, a command or entrypoint of their own).
 */
import type { HarnessOptions } from '../../harness/options.js';
import { GenericContainer } from '../generic-container.js';
import { PresetWaitStrategy } from '../preset-wait-strategy.js';
import type { WaitStrategy } from '../wait-strategy.js';

export abstract class PresetDatabaseContainer extends GenericContainer {
  protected database = 'test';
  protected username = 'test';
  /** the module's own wait, replaced at start() by the preset's with the credentials then set */
  private readonly defaultWait: WaitStrategy;

  constructor(image: string, port: number, preset: HarnessOptions) {
    super(image);
    this.withExposedPorts(port).withStartupTimeout(120_000);
    this.defaultWait = new PresetWaitStrategy(preset.wait!);
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

  /**
   * The preset's environment under the user's and the module's own (`env`), its wait, tmpfs and
   * snapshot. `snapshot: false` where the module itself changes how the server starts (TLS): a
   * start from a snapshot runs the server as the preset does and prints no first-start lines.
   */
  protected applyPreset(preset: HarnessOptions, dataDir: string, env: Record<string, string>, snapshot = true): void {
    this.withEnvironment({ ...preset.env, ...this.environment, ...env });
    const ownWait = this.waitStrategy === this.defaultWait;
    if (ownWait) this.waitStrategy = new PresetWaitStrategy(preset.wait!).withStartupTimeout(this.defaultWait.getStartupTimeout());
    const dataMounted = this.bindMounts.some((b) => b.target === dataDir) || this.tmpFs[dataDir] !== undefined;
    if (snapshot && ownWait && !dataMounted && !this.command && !this.entrypoint) this.initSnapshot = preset.initSnapshot;
    if (!dataMounted) this.withTmpFs(preset.tmpfs ?? {});
  }
}
