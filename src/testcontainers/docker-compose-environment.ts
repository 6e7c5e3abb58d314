/**
 * `new DockerComposeEnvironment(dir, 'compose.yml').up()`: a compose file on mayfly's compose, its
 * services in this process's runtime (they end with it, as Testcontainers' reaper ends them), each
 * container then awaited by its wait strategy. With `withNoRecreate()` or `withAutoCleanup(false)`
 * the project lives in mayfly's keeper instead, like `mayfly compose up -d`, and outlives the
 * process until `down()`.
 */
import { resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { loadComposeProject, type ComposeProject } from '../compose/compose-file.js';
import { composeDownLocal, composeUpLocal } from '../compose/local-project.js';
import { composeDown, composeUp, effectiveHealthcheck } from '../compose/project.js';
import type { ServicePlan } from '../compose/service-options.js';
import { sharedRuntime } from '../harness/session.js';
import { StartedContainer, type ContainerHandle } from '../harness/started-container.js';
import { existingKeeper, KeptHandle } from '../keeper/client.js';
import { BoundPorts } from './bound-ports.js';
import { PullPolicy, type ImagePullPolicy } from './pull-policy.js';
import { StartedDockerComposeEnvironment } from './started-docker-compose-environment.js';
import { StartedGenericContainer } from './started-generic-container.js';
import type { Environment } from './types.js';
import { RandomUuid, type Uuid } from './uuid.js';
import { Wait } from './wait.js';
import { runWaitStrategy, type ReadinessContext, type WaitStrategy } from './wait-strategy.js';

/** What Testcontainers hands to the docker-compose tool; mayfly is the compose implementation here. */
export interface ComposeClientOptions {
  commandOptions?: string[];
  composeOptions?: string[];
  executable?: unknown;
  environment?: NodeJS.ProcessEnv;
  /** given the lines mayfly's compose says (Starting, Building …) */
  logger?: { info?(message: string): unknown };
}

export class DockerComposeEnvironment {
  private projectName: string;
  private build = false;
  private autoCleanup = true;
  private recreate = true;
  private environmentFile = '';
  private profiles: string[] = [];
  private environment: Environment = {};
  private pullPolicy: ImagePullPolicy = PullPolicy.defaultPolicy();
  private defaultWaitStrategy: WaitStrategy = Wait.forListeningPorts();
  private waitStrategy: { [containerName: string]: WaitStrategy } = {};
  private startupTimeoutMs?: number;
  private clientOptions: ComposeClientOptions = {};

  constructor(
    private readonly composeFilePath: string,
    private readonly composeFiles: string | string[],
    uuid: Uuid = new RandomUuid(),
  ) {
    this.projectName = `testcontainers-${uuid.nextUuid()}`;
  }

  /** services with `build:` are built even when their image is there (an unchanged build runs no step) */
  withBuild(): this {
    this.build = true;
    return this;
  }

  /** false: the project outlives this process (in mayfly's keeper) until down() */
  withAutoCleanup(autoCleanup: boolean): this {
    this.autoCleanup = autoCleanup;
    return this;
  }

  /** variables for the file's `${…}` interpolation (over the process's environment) */
  withEnvironment(environment: Environment): this {
    this.environment = { ...this.environment, ...environment };
    return this;
  }

  /** instead of the project directory's .env */
  withEnvironmentFile(environmentFile: string): this {
    this.environmentFile = environmentFile;
    return this;
  }

  withProfiles(...profiles: string[]): this {
    this.profiles = [...this.profiles, ...profiles];
    return this;
  }

  /** the project `testcontainers-node`, kept between runs (in mayfly's keeper); unchanged services are not recreated */
  withNoRecreate(): this {
    this.recreate = false;
    this.projectName = 'testcontainers-node';
    return this;
  }

  withPullPolicy(pullPolicy: ImagePullPolicy): this {
    this.pullPolicy = pullPolicy;
    return this;
  }

  withDefaultWaitStrategy(waitStrategy: WaitStrategy): this {
    this.defaultWaitStrategy = waitStrategy;
    return this;
  }

  /** for the container named `containerName` (`redis-1`, or its container_name) */
  withWaitStrategy(containerName: string, waitStrategy: WaitStrategy): this {
    this.waitStrategy[containerName] = waitStrategy;
    return this;
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = startupTimeoutMs;
    return this;
  }

  withProjectName(projectName: string): this {
    this.projectName = projectName;
    return this;
  }

  /** a logger is given mayfly's compose lines; options for a docker-compose executable cannot apply and fail at up() */
  withClientOptions(options: ComposeClientOptions): this {
    this.clientOptions = { ...this.clientOptions, ...options };
    return this;
  }

  async up(services?: string[]): Promise<StartedDockerComposeEnvironment> {
    const p = this.project();
    const say = (line: string) => this.clientOptions.logger?.info?.(line);
    const kept = !this.autoCleanup || !this.recreate;
    const startedAt = new Date();
    let containers: { name: string; plan: ServicePlan; handle: ContainerHandle; imageId: string | undefined }[];
    let down: (removeVolumes: boolean) => Promise<void>;
    if (kept) {
      const up = await composeUp(p, { ...(services ? { services } : {}), ...(this.build ? { build: { always: true } } : {}), say });
      const k = (await existingKeeper())!;
      containers = up.map((s) => ({ name: containerName(p, s.container.name), plan: s.plan, handle: new KeptHandle(k, s.container), imageId: s.container.imageId }));
      down = (volumes) => composeDown(p, { volumes, say });
    } else {
      const rt = await sharedRuntime();
      const local = await composeUpLocal(p, rt, { ...(services ? { services } : {}), build: this.build, pullAlways: this.pullPolicy.shouldPull(), say });
      containers = [...local.services.values()].map((s) => ({ name: containerName(p, s.container.name), plan: s.plan, handle: s.container, imageId: s.container.spec.labels['mayfly.image.id'] }));
      down = (volumes) => composeDownLocal(p, rt, local, { volumes, say });
    }
    this.warnForUnusedWaitStrategies(new Set(containers.map((c) => c.name)));
    try {
      const started = await Promise.all(
        containers.map(async ({ name, plan, handle, imageId }) => {
          const strategy = this.waitStrategy[name] ?? this.defaultWaitStrategy;
          if (this.startupTimeoutMs !== undefined) strategy.withStartupTimeout(this.startupTimeoutMs);
          const boundPorts = BoundPorts.fromPublished(handle.ports());
          const healthCheck = effectiveHealthcheck(plan, { imageId });
          const readiness: ReadinessContext = { boundPorts, ...(healthCheck ? { healthCheck } : {}) };
          await runWaitStrategy(handle, strategy, readiness);
          const asked = [...boundPorts.iterator()].map(([key]) => key as `${number}/tcp`);
          return new StartedGenericContainer(new StartedContainer(handle, kept), { boundPorts, asked, waitStrategy: strategy, autoRemove: true, readiness, startedAt, name });
        }),
      );
      return new StartedDockerComposeEnvironment(Object.fromEntries(started.map((c) => [c.getName(), c])), down);
    } catch (e) {
      await down(true).catch(() => {});
      throw e;
    }
  }

  private project(): ComposeProject {
    const files = typeof this.composeFiles === 'string' ? [this.composeFiles] : this.composeFiles;
    const { commandOptions = [], composeOptions = [], executable } = this.clientOptions;
    const refused = [
      ...(commandOptions.length || composeOptions.length || executable !== undefined
        ? ['withClientOptions({ commandOptions, composeOptions, executable }): options of the docker-compose program; mayfly is the compose implementation here']
        : []),
    ];
    if (refused.length) {
      throw new MayflyError('UNSUPPORTED', `DockerComposeEnvironment("${this.composeFilePath}") asks for what mayfly cannot do:\n${refused.map((r) => `  - ${r}`).join('\n')}`, {
        hint: 'see "Coming from Testcontainers" in mayfly\'s README',
      });
    }
    const env = { ...(this.clientOptions.environment as Record<string, string> | undefined), ...this.environment };
    return loadComposeProject({
      cwd: resolve(this.composeFilePath),
      files,
      projectName: this.projectName,
      env,
      ...(this.profiles.length ? { profiles: this.profiles } : {}),
      ...(this.environmentFile ? { envFiles: [this.environmentFile] } : {}),
    });
  }

  private warnForUnusedWaitStrategies(names: Set<string>): void {
    const unused = Object.keys(this.waitStrategy).filter((n) => !names.has(n));
    if (unused.length) {
      process.emitWarning(`No containers were started for the configured wait strategy names: "${unused.join('", "')}". Wait strategies are matched against container names (for example "redis-1"), not service names.`, { code: 'MAYFLY' });
    }
  }
}

/** Testcontainers' container name: the compose name without the project's prefix (`redis-1`), or its container_name. */
function containerName(p: ComposeProject, name: string): string {
  return name.startsWith(`${p.name}-`) ? name.slice(p.name.length + 1) : name;
}
