/**
 * `container(image).with…().start()`: Testcontainers' GenericContainer vocabulary, so a test ports
 * over line by line. Each `with…` only records; `start()` validates everything at once (errors name
 * the field) before anything runs.
 */
import type { HarnessOptions } from './options.js';
import { startContainer, type StartOptions } from './start.js';
import type { StartedContainer } from './started-container.js';
import type { WaitStrategy } from './wait/index.js';

type Mutable = { -readonly [K in keyof HarnessOptions]-?: NonNullable<HarnessOptions[K]> };

export interface NetworkLike {
  readonly name: string;
}

export class ContainerBuilder {
  private readonly o: Partial<Mutable> = {};

  constructor(image?: string) {
    if (image !== undefined) this.o.image = image;
  }

  /** layer directories instead of (or on top of) an image: a plain root filesystem works too */
  withLayers(...dirs: string[]): this {
    this.o.layers = [...(this.o.layers ?? []), ...dirs];
    return this;
  }

  withCommand(command: string[]): this {
    this.o.command = command;
    return this;
  }

  withEntrypoint(entrypoint: string[]): this {
    this.o.entrypoint = entrypoint;
    return this;
  }

  withEnvironment(env: Record<string, string>): this {
    this.o.env = { ...this.o.env, ...env };
    return this;
  }

  withEnv(key: string, value: string): this {
    return this.withEnvironment({ [key]: value });
  }

  /** Ports published on free host ports (`port(n)` finds them); `{ container, host }` fixes the host port. */
  withExposedPorts(...ports: (number | { container: number; host: number })[]): this {
    for (const p of ports) {
      if (typeof p === 'number') this.o.exposedPorts = [...(this.o.exposedPorts ?? []), p];
      else this.o.fixedPorts = [...(this.o.fixedPorts ?? []), { containerPort: p.container, hostPort: p.host }];
    }
    return this;
  }

  /** `{ '/data': 'size=64m,mode=1777' }` */
  withTmpFs(tmpfs: Record<string, string>): this {
    this.o.tmpfs = { ...this.o.tmpfs, ...tmpfs };
    return this;
  }

  withBindMounts(mounts: { source: string; target: string; mode?: 'ro' | 'rw' }[]): this {
    this.o.binds = [...(this.o.binds ?? []), ...mounts.map((m) => ({ source: m.source, target: m.target, readonly: m.mode === 'ro' }))];
    return this;
  }

  withVolume(name: string, target: string, mode: 'ro' | 'rw' = 'rw'): this {
    this.o.volumes = [...(this.o.volumes ?? []), { name, target, readonly: mode === 'ro' }];
    return this;
  }

  /** host files or directories put in place before start: `[{ source, target, mode? }]` */
  withCopyFilesToContainer(items: { source: string; target: string; mode?: number }[]): this {
    this.o.copies = [...(this.o.copies ?? []), ...items];
    return this;
  }

  withCopyDirectoriesToContainer(items: { source: string; target: string }[]): this {
    return this.withCopyFilesToContainer(items);
  }

  /** files written from memory before start: `[{ content, target, mode? }]` */
  withCopyContentToContainer(items: { content: string | Buffer; target: string; mode?: number }[]): this {
    this.o.copies = [...(this.o.copies ?? []), ...items];
    return this;
  }

  withNetwork(network: string | NetworkLike): this {
    this.o.network = typeof network === 'string' ? network : network.name;
    return this;
  }

  withNetworkAliases(...aliases: string[]): this {
    this.o.networkAliases = [...(this.o.networkAliases ?? []), ...aliases];
    return this;
  }

  withUser(user: string): this {
    this.o.user = user;
    return this;
  }

  withWorkingDir(dir: string): this {
    this.o.workingDir = dir;
    return this;
  }

  withHostname(hostname: string): this {
    this.o.hostname = hostname;
    return this;
  }

  withName(name: string): this {
    this.o.name = name;
    return this;
  }

  withLabels(labels: Record<string, string>): this {
    this.o.labels = { ...this.o.labels, ...labels };
    return this;
  }

  /** `{ memory: '256m', cpus: 0.5, pids: 100 }` — enforced where cgroups are delegated (`mayfly doctor`) */
  withLimits(limits: { memory?: string | number; cpus?: number; pids?: number }): this {
    this.o.limits = { ...this.o.limits, ...limits };
    return this;
  }

  /** a tiny init as PID 1: forwards signals, reaps zombies */
  withInit(init = true): this {
    this.o.init = init;
    return this;
  }

  /** every capability, no seccomp filter, nothing of /proc and /sys masked (Docker's --privileged) */
  withPrivilegedMode(privileged = true): this {
    this.o.privileged = privileged;
    return this;
  }

  /** capabilities beyond Docker's default set: `'NET_ADMIN'`, `'CAP_SYS_PTRACE'`, `'ALL'` */
  withAddedCapabilities(...caps: string[]): this {
    this.o.capAdd = [...(this.o.capAdd ?? []), ...caps];
    return this;
  }

  withDroppedCapabilities(...caps: string[]): this {
    this.o.capDrop = [...(this.o.capDrop ?? []), ...caps];
    return this;
  }

  /** Docker's `--security-opt`: `'seccomp=unconfined'` turns the default seccomp filter off */
  withSecurityOpt(...opts: string[]): this {
    this.o.securityOpt = [...(this.o.securityOpt ?? []), ...opts];
    return this;
  }

  /** `[{ host: 'api.local', ipAddress: '10.89.0.5' }]`; `ipAddress: 'host-gateway'` opens the host's whole loopback (on a network with outbound access) */
  withExtraHosts(hosts: { host: string; ipAddress: string }[]): this {
    this.o.extraHosts = [...(this.o.extraHosts ?? []), ...hosts];
    return this;
  }

  /** host loopback ports (and only those) this container reaches as host.mayfly.internal:PORT — see also `exposeHostPorts()` */
  withExposedHostPorts(...ports: number[]): this {
    this.o.exposedHostPorts = [...(this.o.exposedHostPorts ?? []), ...ports];
    return this;
  }

  withWaitStrategy(strategy: WaitStrategy): this {
    this.o.wait = strategy;
    return this;
  }

  /** start plus readiness, in milliseconds (default 60 000) */
  withStartupTimeout(ms: number): this {
    this.o.startupTimeout = ms;
    return this;
  }

  withStopTimeout(seconds: number): this {
    this.o.stopTimeout = seconds;
    return this;
  }

  withPullPolicy(pull: 'missing' | 'always' | 'never'): this {
    this.o.pull = pull;
    return this;
  }

  /** keep it running for later runs (watch mode): found again by a hash of its options */
  withReuse(reuse = true): this {
    this.o.reuse = reuse;
    return this;
  }

  /**
   * Initialise once, then start from a snapshot of the initialised state: the first start of this
   * configuration (image, command, environment, copied files, `key`) runs as usual, is stopped
   * cleanly once ready (`quiesce`: a command, else the stop signal) and its `paths` are kept in
   * MAYFLY_HOME; every start of the same configuration then gets each path as a tmpfs filled from
   * them. `{ paths: ['/var/lib/postgresql/data'] }`.
   */
  withInitSnapshot(settings: NonNullable<HarnessOptions['initSnapshot']>): this {
    this.o.initSnapshot = settings;
    return this;
  }

  /** The options collected so far, as `startContainer` takes them. */
  options(): HarnessOptions {
    const { wait, copies, initSnapshot, ...rest } = this.o;
    // content Buffers, strategies and hooks are handed over as they are
    return { ...structuredClone(rest), ...(copies ? { copies: [...copies] } : {}), ...(wait ? { wait } : {}), ...(initSnapshot ? { initSnapshot: { ...initSnapshot } } : {}) };
  }

  start(opts: StartOptions = {}): Promise<StartedContainer> {
    return startContainer(this.options(), opts);
  }
}

/** `container('redis:7').withExposedPorts(6379).start()` */
export function container(image?: string): ContainerBuilder {
  return new ContainerBuilder(image);
}
