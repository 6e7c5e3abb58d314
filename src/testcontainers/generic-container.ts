/**
 * `new GenericContainer(image).with…().start()`: Testcontainers' container builder on mayfly's
 * harness. Each `with…` records; `start()` refuses what mayfly cannot do (all of it, in one
 * error), maps the rest onto the harness's options, starts the container in this process's
 * sandbox and waits by the chosen strategy with mayfly's own probing.
 */
import { isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';
import { MayflyError } from '../core/errors.js';
import type { CopyItem } from '../harness/copy.js';
import type { HarnessOptions } from '../harness/options.js';
import { startContainer } from '../harness/start.js';
import type { ContainerHandle, StartedContainer } from '../harness/started-container.js';
import type { Healthcheck } from '../harness/wait/index.js';
import { BoundPorts } from './bound-ports.js';
import { inspectOf } from './container-facts.js';
import { archiveItems, contentItems, fileItems } from './copies.js';
import { ImageName } from './image-name.js';
import { testcontainersLabels } from './labels.js';
import { containerLogStream } from './log-stream.js';
import { getContainerPort, getProtocol, hasHostBinding, type PortWithOptionalBinding } from './port.js';
import { PullPolicy, pullSetting, type ImagePullPolicy } from './pull-policy.js';
import { refusals, refusedError } from './refusals.js';
import { StartedGenericContainer } from './started-generic-container.js';
import type { StartedNetwork } from './started-network.js';
import type { StartedTestContainer, TestContainer } from './test-container.js';
import type {
  ArchiveToCopy, BindMount, ContentToCopy, CopyToContainerOptions, DirectoryToCopy, Environment, ExtraHost, FileToCopy, HealthCheck, InspectResult, Labels, ResourcesQuota, TmpFs, Ulimits,
} from './types.js';
import { Wait } from './wait.js';
import { harnessStrategyOf, inTestcontainersWords, type ReadinessContext, type WaitStrategy } from './wait-strategy.js';

const NS_PER_MS = 1_000_000;

/** (`GenericContainer.fromDockerfile(context, file)` is added by generic-container-builder.ts, which makes that builder.) */
export class GenericContainer implements TestContainer {
  protected imageName: ImageName;
  protected startupTimeoutMs?: number;
  protected waitStrategy: WaitStrategy = Wait.forListeningPorts();
  protected environment: Record<string, string> = {};
  protected exposedPorts: PortWithOptionalBinding[] = [];
  protected reuse = false;
  protected autoCleanup = true;
  protected autoRemove = true;
  protected networkMode?: string;
  protected networkAliases: string[] = [];
  protected pullPolicy: ImagePullPolicy = PullPolicy.defaultPolicy();
  protected logConsumer?: (stream: Readable) => unknown;
  protected filesToCopy: FileToCopy[] = [];
  protected directoriesToCopy: DirectoryToCopy[] = [];
  protected contentsToCopy: ContentToCopy[] = [];
  protected archivesToCopy: ArchiveToCopy[] = [];
  protected copyToContainerOptions: CopyToContainerOptions = {};
  protected healthCheck?: HealthCheck;
  // what Testcontainers keeps in Docker's create options and host config
  protected command?: string[];
  protected entrypoint?: string[];
  protected name?: string;
  protected labels: Labels = {};
  protected platform?: string;
  protected tmpFs: TmpFs = {};
  protected ulimits: Ulimits = {};
  protected securityOpts: string[] = [];
  protected addedCapabilities: string[] = [];
  protected droppedCapabilities: string[] = [];
  protected extraHosts: ExtraHost[] = [];
  protected bindMounts: BindMount[] = [];
  protected privileged = false;
  protected user?: string;
  protected ipcMode?: string;
  protected workingDir?: string;
  protected resourcesQuota?: ResourcesQuota;
  protected sharedMemorySize?: number;
  protected hostname?: string;
  /** mayfly's initialised-data snapshot (a module's: the first start initialises, later ones start from its data) */
  protected initSnapshot?: HarnessOptions['initSnapshot'];

  constructor(image: string) {
    this.imageName = ImageName.fromString(image);
  }

  /** before the container is made (a subclass's last word on its settings) */
  protected beforeContainerCreated?(): Promise<void>;
  /** once it exists (here: once it runs, just before containerStarting: mayfly makes and starts it in one step); not for a reused one */
  protected containerCreated?(containerId: string): Promise<void>;
  /** once it runs, before it is awaited */
  protected containerStarting?(inspectResult: InspectResult, reused: boolean): Promise<void>;
  /** once it is ready */
  protected containerStarted?(container: StartedTestContainer, inspectResult: InspectResult, reused: boolean): Promise<void>;

  async start(): Promise<StartedTestContainer> {
    await this.beforeContainerCreated?.();
    const copiesBeforeStart = this.filesToCopy.length + this.directoriesToCopy.length + this.contentsToCopy.length + this.archivesToCopy.length > 0;
    const found = refusals({
      platform: this.platform,
      ulimits: this.ulimits,
      securityOpts: this.securityOpts,
      ipcMode: this.ipcMode,
      networkMode: this.networkMode,
      autoCleanup: this.autoCleanup,
      reuse: this.reusing(),
      copyToContainerOptions: this.copyToContainerOptions,
      copiesBeforeStart,
    });
    if (found.length) throw refusedError(this.imageName.string, found);

    if (this.startupTimeoutMs !== undefined) this.waitStrategy.withStartupTimeout(this.startupTimeoutMs);
    const asked = this.exposedPorts;
    // the ports asked for, known now (what forListeningPorts waits on); their host ports once it runs
    const boundPorts = new BoundPorts();
    for (const p of asked) boundPorts.setBinding(getContainerPort(p), 0, getProtocol(p));
    const ctx: ReadinessContext = { boundPorts, ...(this.healthCheck ? { healthCheck: healthcheckOf(this.healthCheck) } : {}) };
    const reused = this.reusing();
    const startedAt = new Date();
    const archives = await archiveItems(this.archivesToCopy);
    let started: StartedContainer;
    try {
      const options = await this.harnessOptions(archives.items, ctx);
      started = await startContainer(options, {
        onRunning: async (c) => {
          // mayfly makes and starts a container in one step: containerCreated comes once it runs, before containerStarting
          if (!reused) await this.containerCreated?.(c.id);
          refreshBindings(boundPorts, c, asked);
          if (this.logConsumer) this.logConsumer(await containerLogStream(c));
          await this.containerStarting?.(inspectOf(c, { name: `/${c.name}`, startedAt, healthCheckStatus: this.healthCheckStatus('starting') }), reused);
        },
      });
    } catch (e) {
      throw inTestcontainersWords(e, this.waitStrategy, ctx);
    } finally {
      archives.cleanup();
    }
    const container = new StartedGenericContainer(started, {
      boundPorts,
      asked,
      waitStrategy: this.waitStrategy,
      autoRemove: this.autoRemove,
      readiness: ctx,
      startedAt,
    });
    if (this.containerStarted) {
      const inspect = inspectOf(started.container, { name: container.getName(), startedAt, healthCheckStatus: this.healthCheckStatus('healthy') });
      try {
        await this.containerStarted(container, inspect, reused);
      } catch (e) {
        await container.stop().catch(() => {});
        throw e;
      }
    }
    return container;
  }

  private reusing(): boolean {
    return this.reuse && process.env.TESTCONTAINERS_REUSE_ENABLE !== 'false';
  }

  private healthCheckStatus(whenAwaited: 'starting' | 'healthy'): InspectResult['healthCheckStatus'] {
    return this.healthCheck ? whenAwaited : 'none';
  }

  /** The harness's options for this container (validated by the harness, field by field). */
  private async harnessOptions(archiveCopies: CopyItem[], ctx: ReadinessContext): Promise<HarnessOptions> {
    const network = await this.network();
    const binds = this.bindMounts.filter((b) => isAbsolute(b.source));
    // a bind source that is not a path names a volume, as in Docker
    const volumes = this.bindMounts.filter((b) => !isAbsolute(b.source));
    const copies = [...fileItems(this.filesToCopy), ...fileItems(this.directoriesToCopy), ...(await contentItems(this.contentsToCopy)), ...archiveCopies];
    const tmpfs = { ...this.tmpFs, ...(this.sharedMemorySize !== undefined ? { '/dev/shm': `size=${this.sharedMemorySize},mode=1777,noexec` } : {}) };
    return {
      image: this.imageName.string,
      ...(this.command ? { command: this.command } : {}),
      ...(this.entrypoint ? { entrypoint: this.entrypoint } : {}),
      env: this.environment,
      exposedPorts: this.exposedPorts.filter((p) => !hasHostBinding(p) && getProtocol(p) === 'tcp').map(getContainerPort),
      fixedPorts: this.exposedPorts
        .filter((p) => hasHostBinding(p) || getProtocol(p) === 'udp')
        .map((p) => ({ containerPort: getContainerPort(p), hostPort: hasHostBinding(p) ? p.host : 0, protocol: getProtocol(p) })),
      tmpfs,
      binds: binds.map((b) => ({ source: b.source, target: b.target, readonly: b.mode === 'ro' })),
      volumes: volumes.map((b) => ({ name: b.source, target: b.target, readonly: b.mode === 'ro' })),
      copies,
      ...(network ? { network } : {}),
      networkAliases: this.networkAliases,
      ...(this.user !== undefined ? { user: this.user } : {}),
      ...(this.workingDir !== undefined ? { workingDir: this.workingDir } : {}),
      ...(this.hostname !== undefined ? { hostname: this.hostname } : {}),
      ...(this.name !== undefined ? { name: this.name } : {}),
      privileged: this.privileged,
      capAdd: this.addedCapabilities,
      capDrop: this.droppedCapabilities,
      // the ones the refusals let through: those mayfly's runtime knows (seccomp=unconfined turns its filter off)
      securityOpt: this.securityOpts,
      extraHosts: this.extraHosts,
      labels: { ...(this.reusing() ? { 'org.testcontainers': 'true' } : testcontainersLabels()), ...this.labels },
      limits: {
        ...(this.resourcesQuota?.memory !== undefined ? { memory: Math.ceil(this.resourcesQuota.memory * 1024 ** 3) } : {}),
        ...(this.resourcesQuota?.cpu !== undefined ? { cpus: this.resourcesQuota.cpu } : {}),
      },
      pull: pullSetting(this.pullPolicy),
      wait: harnessStrategyOf(this.waitStrategy, ctx),
      startupTimeout: this.waitStrategy.getStartupTimeout(),
      reuse: this.reusing(),
      // a reused container keeps its state itself
      ...(this.initSnapshot && !this.reusing() ? { initSnapshot: this.initSnapshot } : {}),
    };
  }

  /** Docker's network modes in mayfly's terms: bridge (the default) is mayfly's own default, a network of its own with loopback. */
  private async network(): Promise<string | undefined> {
    const mode = this.networkMode;
    if (mode === undefined || mode === 'bridge' || mode === 'default') return undefined;
    return mode;
  }

  withCommand(command: string[]): this {
    this.command = command;
    return this;
  }

  withEntrypoint(entrypoint: string[]): this {
    this.entrypoint = entrypoint;
    return this;
  }

  withName(name: string): this {
    this.name = name;
    return this;
  }

  withLabels(labels: Labels): this {
    this.labels = { ...this.labels, ...labels };
    return this;
  }

  withEnvironment(environment: Environment): this {
    this.environment = { ...this.environment, ...environment };
    return this;
  }

  /** only this machine's platform (no emulation): anything else fails at start() */
  withPlatform(platform: string): this {
    this.platform = platform;
    return this;
  }

  /** `{ '/data': 'rw,noexec,size=64m' }`: size, mode, noexec/exec (rw, nosuid, nodev always hold); other options fail at start() */
  withTmpFs(tmpFs: TmpFs): this {
    this.tmpFs = { ...this.tmpFs, ...tmpFs };
    return this;
  }

  /** not supported: fails at start() */
  withUlimits(ulimits: Ulimits): this {
    this.ulimits = { ...this.ulimits, ...ulimits };
    return this;
  }

  /** `seccomp=unconfined` turns mayfly's default seccomp filter off; no-new-privileges, apparmor=unconfined and label=disable are what it is anyway; profile files fail at start() */
  withSecurityOpt(...securityOptions: string[]): this {
    this.securityOpts = [...this.securityOpts, ...securityOptions];
    return this;
  }

  /** beyond Docker's default set: `'NET_ADMIN'`, `'CAP_SYS_PTRACE'`, `'ALL'` (they act within the container's user namespace) */
  withAddedCapabilities(...capabilities: string[]): this {
    this.addedCapabilities = [...this.addedCapabilities, ...capabilities];
    return this;
  }

  withDroppedCapabilities(...capabilities: string[]): this {
    this.droppedCapabilities = [...this.droppedCapabilities, ...capabilities];
    return this;
  }

  withNetwork(network: StartedNetwork): this {
    this.networkMode = network.getName();
    return this;
  }

  /** `bridge` (the default), `none`, `host`, or a network's name; `container:…` fails at start() */
  withNetworkMode(networkMode: string): this {
    this.networkMode = networkMode;
    return this;
  }

  withNetworkAliases(...networkAliases: string[]): this {
    this.networkAliases = [...this.networkAliases, ...networkAliases];
    return this;
  }

  /** more /etc/hosts entries; `ipAddress: 'host-gateway'` is the host's loopback (on a network with outbound access) */
  withExtraHosts(extraHosts: ExtraHost[]): this {
    this.extraHosts = [...this.extraHosts, ...extraHosts];
    return this;
  }

  /** `8080` (a free host port), `'53/udp'`, `{ container: 8080, host: 18080 }` */
  withExposedPorts(...ports: PortWithOptionalBinding[]): this {
    for (const p of ports) getContainerPort(p); // a malformed "8080/sctp" fails here
    this.exposedPorts = [...this.exposedPorts, ...ports];
    return this;
  }

  /** replaces earlier bind mounts, as in Testcontainers; a source that is not an absolute path names a volume */
  withBindMounts(bindMounts: BindMount[]): this {
    this.bindMounts = [...bindMounts];
    return this;
  }

  /** also what Wait.forHealthCheck() runs (durations in ms) */
  withHealthCheck(healthCheck: HealthCheck): this {
    this.healthCheck = healthCheck;
    return this;
  }

  withStartupTimeout(startupTimeoutMs: number): this {
    this.startupTimeoutMs = startupTimeoutMs;
    return this;
  }

  withWaitStrategy(waitStrategy: WaitStrategy): this {
    this.waitStrategy = waitStrategy;
    return this;
  }

  /** mayfly always keeps a container's output as Docker's json-file driver does */
  withDefaultLogDriver(): this {
    return this;
  }

  /** every capability (within the container's user namespace), no seccomp filter, nothing of /proc and /sys masked; never the host's devices */
  withPrivilegedMode(): this {
    this.privileged = true;
    return this;
  }

  withUser(user: string): this {
    this.user = user;
    return this;
  }

  /** kept for later runs (found again by its settings) unless TESTCONTAINERS_REUSE_ENABLE=false */
  withReuse(): this {
    this.reuse = true;
    return this;
  }

  /** false: only with withReuse() (a container otherwise ends with this process); fails at start() otherwise */
  withAutoCleanup(autoCleanup: boolean): this {
    this.autoCleanup = autoCleanup;
    return this;
  }

  /** whether stop() also removes it (default true) */
  withAutoRemove(autoRemove: boolean): this {
    this.autoRemove = autoRemove;
    return this;
  }

  withPullPolicy(pullPolicy: ImagePullPolicy): this {
    this.pullPolicy = pullPolicy;
    return this;
  }

  /** `private`/`shareable` (what every mayfly container has); `host`, `container:…`, `none` fail at start() */
  withIpcMode(ipcMode: string): this {
    this.ipcMode = ipcMode;
    return this;
  }

  withCopyFilesToContainer(filesToCopy: FileToCopy[]): this {
    this.filesToCopy = [...this.filesToCopy, ...filesToCopy];
    return this;
  }

  withCopyDirectoriesToContainer(directoriesToCopy: DirectoryToCopy[]): this {
    this.directoriesToCopy = [...this.directoriesToCopy, ...directoriesToCopy];
    return this;
  }

  withCopyContentToContainer(contentsToCopy: ContentToCopy[]): this {
    this.contentsToCopy = [...this.contentsToCopy, ...contentsToCopy];
    return this;
  }

  withCopyArchivesToContainer(archivesToCopy: ArchiveToCopy[]): this {
    this.archivesToCopy = [...this.archivesToCopy, ...archivesToCopy];
    return this;
  }

  /** copyUIDGID / noOverwriteDirNonDir are not supported for copies before start: they fail at start() */
  withCopyToContainerOptions(copyToContainerOptions: CopyToContainerOptions): this {
    this.copyToContainerOptions = { ...this.copyToContainerOptions, ...copyToContainerOptions };
    return this;
  }

  withWorkingDir(workingDir: string): this {
    this.workingDir = workingDir;
    return this;
  }

  /** memory in GB, cpu in cores; enforced where cgroups allow (`mayfly doctor`), with a warning where not */
  withResourcesQuota({ memory, cpu }: ResourcesQuota): this {
    this.resourcesQuota = { ...(memory !== undefined ? { memory } : {}), ...(cpu !== undefined ? { cpu } : {}) };
    return this;
  }

  /** the size of /dev/shm (default 64 MiB, as Docker's) */
  withSharedMemorySize(bytes: number): this {
    if (!Number.isInteger(bytes) || bytes <= 0) throw new MayflyError('INVALID_OPTION', `withSharedMemorySize: expected a positive number of bytes, got ${bytes}`);
    this.sharedMemorySize = bytes;
    return this;
  }

  /** given the output as a stream once the container runs (before it is awaited) */
  withLogConsumer(logConsumer: (stream: Readable) => unknown): this {
    this.logConsumer = logConsumer;
    return this;
  }

  withHostname(hostname: string): this {
    this.hostname = hostname;
    return this;
  }
}

/** The host ports of the asked-for ports, once published; only those (as Testcontainers' filter). */
function refreshBindings(bound: BoundPorts, c: ContainerHandle, asked: PortWithOptionalBinding[]): void {
  for (const [key, hostPort] of BoundPorts.fromPublished(c.ports(), asked).filter(asked).iterator()) bound.setBinding(key, hostPort);
}

/** Testcontainers' healthcheck (ms) as the image config has it (ns). */
function healthcheckOf(h: HealthCheck): Healthcheck {
  return {
    test: [...h.test],
    ...(h.interval ? { interval: h.interval * NS_PER_MS } : {}),
    ...(h.timeout ? { timeout: h.timeout * NS_PER_MS } : {}),
    ...(h.startPeriod ? { startPeriod: h.startPeriod * NS_PER_MS } : {}),
    ...(h.retries ? { retries: h.retries } : {}),
  };
}
