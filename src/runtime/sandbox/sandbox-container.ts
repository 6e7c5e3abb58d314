/**
 * One container as its sandbox sees it: its directory, its shim and PID 1, its log, its cgroup,
 * and the lifecycle verbs (start, stop, kill, pause, exec, stats, remove).
 */
import { closeSync, existsSync, openSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants, hostname as hostHostname } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { directorySize, readTextIfPresent } from '../../core/files.js';
import { MayflyError } from '../../core/errors.js';
import type { ContainerCgroup } from '../cgroups/types.js';
import { formatLogs, LogWriter } from '../../model/container-logs.js';
import { containerProcesses, processUsage, signalAll } from '../process-tree.js';
import type { JoinPlan, StartLimits, StartPlan } from '../shim/plan.js';
import { joinSteps, startSteps } from '../shim/steps.js';
import { HOST_GATEWAY_NAME, networkMemberships, type ContainerSpec } from '../../model/container-spec.js';
import { CREATING_PREFIX, releaseName, stateJson, writeJsonAtomic, type ContainerState, type Layout } from '../../model/home.js';
import type { ContainerExtras } from './protocol.js';
import type { ExecRequest } from './protocol.js';
import type { ContainerStats, ExecResult } from '../../model/container-types.js';
import type { RootfsDiff, RootfsDriver } from '../rootfs/rootfs-driver.js';
import { imageVolumeDir, prepareImageVolumes } from './image-volumes.js';
import { collect, type Launch, type Launcher, type ProcessIO, type StartFailure } from './launcher.js';
import { stdinPipe, terminal, type ProcessInput } from './process-input.js';
import * as mounts from '../../sys/mounts.js';
import { DEVPTS_FLAGS, devptsOptions } from '../shim/steps.js';
import type { Readable } from 'node:stream';
import type { Trash } from './trash.js';
import { listeningPorts } from '../../network/listening-sockets.js';
import { getNetwork, type NetworkRecord } from '../../network/network-store.js';
import { createNetns, removeNetns } from '../../network/netns.js';
import type { Closeable, SandboxNetworks } from '../../network/sandbox-networks.js';
import type { Attachment } from '../../model/container-types.js';
import { HOST_ALIASES, HOST_GATEWAY, HOST_PORTS_ADDRESS, SLIRP_DNS, startOutbound, type OutboundSupport } from '../../network/outbound.js';
import { PortForwarder } from '../../network/port-forwarder.js';
import { HostPorts } from '../../network/host-ports.js';
import { isolationOf, type Isolation } from '../isolation.js';
import { type PortMapping, type PublishedPort } from '../../model/container-types.js';

export interface SandboxServices {
  layout: Layout;
  sandboxId: string;
  rootfs: RootfsDriver;
  fullIdMap: boolean;
  /** how the start works around a confined host (a CI job's container): decided once per sandbox */
  startLimits: StartLimits;
  initBinary: string | null;
  /** starts containers' processes: natively, or through Node shims */
  launcher: Launcher;
  /** takes directories away at once and deletes them in the background */
  trash: Trash;
  /**
   * a directory on the sandbox's scratch tmpfs (seen only by the sandbox and its containers): the
   * files a container needs but nobody outside reads (its /etc/hosts, hostname, resolv.conf) live
   * there, sparing the disk an inode allocation and a delete each (costly on a busy ext4)
   */
  runFiles: string;
  createCgroup(id: string, spec: ContainerSpec): Promise<ContainerCgroup | null>;
  networks: SandboxNetworks;
  /** slirp4netns, when this machine lets us use it; else the reason, warned about once */
  outbound: OutboundSupport;
  warnOnce(message: string): void;
  emit(event: { event: 'exit'; id: string; exitCode: number; oomKilled: boolean } | { event: 'output'; id: string; stream: 'stdout' | 'stderr'; data: Uint8Array }): void;
}

const EXEC_OUTPUT_GRACE_MS = 100;

export function signalNumber(name: string): number {
  const n = (constants.signals as Record<string, number>)[name.startsWith('SIG') ? name : `SIG${name}`];
  if (n === undefined) throw new MayflyError('INVALID_OPTION', `unknown signal ${name}`);
  return n;
}

function signalName(name: string): NodeJS.Signals {
  signalNumber(name);
  return (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
}

export class SandboxContainer {
  readonly dir: string;
  private status: ContainerState['status'] = 'created';
  private pid1: number | undefined;
  private exited: Promise<number> | undefined;
  private exitCode: number | undefined;
  private log: LogWriter;
  private cgroup: ContainerCgroup | null = null;
  private pausedBy: 'freezer' | 'sigstop' | undefined;
  private readonly forwarder = new PortForwarder();
  private published: PublishedPort[] = [];
  private attach = false;
  private attachments: Attachment[] = [];
  private netnsFd = -1;
  private outbound: Closeable | undefined;
  private createdAt = new Date().toISOString();
  private startedAt: string | undefined;
  private finishedAt: string | undefined;
  private oomKilled = false;
  private readonly isolation: Isolation;
  private readonly hostPorts = new HostPorts();
  /** the process of a start in progress, until it has exec'd or failed */
  private starting: Launch | undefined;
  /** the network namespace pinned at netnsAt is this container's, made by the sandbox */
  private ownsNetns = false;
  /** where this start's namespace is pinned: netnsFile, or a spare's file (SandboxNetworks.takeSpare) */
  private netnsAt: string | undefined;
  /** the default bridge, when this container is on it alone as Docker's clients put theirs: a spare namespace fits */
  private spareFits: { record: NetworkRecord; defaultRoute: boolean; outbound: boolean } | undefined;
  /** PID 1's stdin pipe or terminal (`-i`, `-t`), while it runs */
  private processInput: ProcessInput | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerSpec,
    private readonly svc: SandboxServices,
    readonly extras: ContainerExtras = {},
  ) {
    this.dir = join(svc.layout.containers, id);
    this.etcDir = join(svc.runFiles, id, 'etc');
    this.log = new LogWriter(join(this.dir, 'log.jsonl'));
    this.isolation = isolationOf(spec, (m) => svc.warnOnce(m));
  }

  /** the generated /etc files (hosts, hostname, resolv.conf), bind-mounted into the container */
  private readonly etcDir: string;

  /** kept on disk (stopped) when this sandbox ends, until removed */
  get persistent(): boolean {
    return Boolean(this.extras.persistent && !this.extras.autoRemove);
  }

  /**
   * A persistent container another sandbox held (it ended, or was killed): taken over from its
   * record, stopped, for `start`, `rm` or `commit`. Its directory and writable layer are as it left them.
   */
  static async adopt(state: ContainerState, svc: SandboxServices): Promise<SandboxContainer> {
    if (!state.spec || !state.persistent) throw new MayflyError('CONTAINER_STATE', `container ${state.name} cannot be taken over: it is not a kept container`);
    const { persistent, autoRemove, entrypoint, cmd } = state;
    const c = new SandboxContainer(state.id, state.name, state.spec, svc, { persistent, ...(autoRemove ? { autoRemove } : {}), ...(entrypoint ? { entrypoint } : {}), ...(cmd ? { cmd } : {}) });
    c.createdAt = state.createdAt;
    c.startedAt = state.startedAt;
    c.finishedAt = state.finishedAt;
    c.oomKilled = state.oomKilled ?? false;
    c.status = state.status === 'created' ? 'created' : 'exited';
    c.exitCode = state.status === 'created' ? undefined : (state.exitCode ?? 137);
    // its mounts and generated /etc files went with the old sandbox; what the driver keeps between
    // starts is reset as after an exit
    await svc.rootfs.unmount(c.rootfsOwner).catch(() => {});
    mkdirSync(c.etcDir, { recursive: true, mode: 0o755 });
    c.writeEtcFiles();
    c.cgroup = await svc.createCgroup(c.id, c.spec);
    c.saveState();
    return c;
  }

  /** The state a caller sees at once (adopt, create). */
  get current(): { status: ContainerState['status']; exitCode?: number } {
    return { status: this.status, ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}) };
  }

  /** Prepares the container's directory: upper/work dirs, generated /etc files, volumes, cgroup. */
  async create(): Promise<void> {
    this.memberships(); // an unknown network fails here, before anything is made
    // made under a name that says whose it is, state included, then renamed: a container directory
    // never lacks its state (a sandbox killed in between leaves a name the next one can judge)
    const staging = join(this.svc.layout.containers, `${CREATING_PREFIX}${this.svc.sandboxId}-${this.id}`);
    mkdirSync(staging, { mode: 0o755 });
    // at once: an image prune elsewhere must see which layers this container uses. Written in
    // place: a reader of the staging directory sees no state or a torn one alike (both "not yet"),
    // and the rename below publishes it whole; a temporary file and a rename more cost an inode each
    writeFileSync(join(staging, 'state.json'), stateJson(this.state()));
    renameSync(staging, this.dir);
    mkdirSync(dirname(this.etcDir), { recursive: true, mode: 0o755 }); // one mkdir: the parent is there after the first
    mkdirSync(this.etcDir, { mode: 0o755 });
    this.writeEtcFiles();
    for (const v of this.spec.volumes) mkdirSync(this.volumeDir(v.name), { recursive: true, mode: 0o755 });
    for (const b of this.spec.binds) {
      if (!existsSync(b.source)) {
        throw new MayflyError('INVALID_OPTION', `bind mount source ${b.source} does not exist`, {
          hint: 'create it first, or use a named volume (-v NAME:/path) that mayfly creates for you',
        });
      }
    }
    for (const t of this.spec.tmpfs) {
      if (t.from && !existsSync(t.from)) throw new MayflyError('INVALID_OPTION', `tmpfs ${t.path}: the directory to start it from, ${t.from}, does not exist`);
    }
    await this.svc.rootfs.prepare(this.rootfsOwner);
    await prepareImageVolumes(this.dir, this.spec.layers, this.spec.anonymousVolumes, this.svc.rootfs.name);
    this.cgroup = await this.svc.createCgroup(this.id, this.spec);
  }

  private memberships() {
    return networkMemberships(this.spec).map((m) => ({ network: getNetwork(this.svc.layout, m.name), aliases: m.aliases }));
  }

  private get netnsFile(): string {
    return join(this.dir, 'netns');
  }

  /** `--add-host NAME:host-gateway`: the whole host loopback, through slirp4netns (or shared, on the host network). */
  private get wantsHostGateway(): boolean {
    return this.spec.extraHosts.some((h) => h.ip === HOST_GATEWAY_NAME);
  }

  /** exposed host ports that need a forwarder: not on the host network, nor where host-gateway opens everything */
  private get forwardedHostPorts(): number[] {
    return this.spec.network === 'host' || this.wantsHostGateway ? [] : this.spec.exposedHostPorts;
  }

  /**
   * A namespace of its own, made here before the shim joins it, when the container is on
   * user-defined networks (wired into each) or reaches exposed host ports (their listeners live in it).
   */
  private async connectNetworks(): Promise<StartPlan['network']> {
    const memberships = this.memberships();
    const hostPorts = this.forwardedHostPorts;
    if (!memberships.length && !hostPorts.length) return this.spec.network === 'host' ? 'host' : 'none';
    const support = this.svc.outbound;
    const wantsOutbound = memberships.some((m) => !m.network.internal);
    if (wantsOutbound && !support.usable) this.svc.warnOnce(`containers on networks have no outbound access (${support.reason}): ${support.fix}`);
    if (this.wantsHostGateway && !(wantsOutbound && support.usable)) {
      const why = !wantsOutbound ? 'its networks are internal' : support.usable ? '' : support.reason;
      throw new MayflyError('INVALID_OPTION', `container ${this.name}: host-gateway needs a network with outbound access (${why})`, {
        hint: 'reach single host ports with exposedHostPorts instead: they need no outbound access',
      });
    }
    // exposed host ports answer on the alias address, local to the container's namespace
    const loopbackAddress = hostPorts.length ? HOST_PORTS_ADDRESS : undefined;
    const only = memberships.length === 1 ? memberships[0]!.network : undefined;
    this.spareFits = only?.builtin && !loopbackAddress && !this.wantsHostGateway ? { record: only, defaultRoute: !(wantsOutbound && support.usable), outbound: wantsOutbound && support.usable } : undefined;
    const spare = this.spareFits && (await this.svc.networks.takeSpare({ id: this.id, name: this.name, hostname: this.hostname(), onPeersChanged: (lines) => this.writeHosts(lines) }, this.spareFits.record));
    this.ownsNetns = true;
    this.netnsAt = spare?.netns ?? this.netnsFile;
    const netnsAt = this.netnsAt;
    try {
      if (spare) {
        this.attachments = spare.attachments;
        this.outbound = spare.outbound;
      } else if (memberships.length) {
        this.attachments = await this.svc.networks.connect(
          { id: this.id, name: this.name, hostname: this.hostname(), onPeersChanged: (lines) => this.writeHosts(lines) },
          netnsAt,
          memberships,
          {
            defaultRoute: !(wantsOutbound && support.usable),
            ...(loopbackAddress ? { loopbackAddress } : {}),
            // slirp4netns needs only the namespace: it starts while the bridge takes the veth's other end
            ...(wantsOutbound && support.usable
              ? {
                  alongside: async () => {
                    this.outbound = await startOutbound(support.helper, netnsAt, { hostLoopback: this.wantsHostGateway });
                  },
                }
              : {}),
          },
        );
      } else {
        await createNetns(netnsAt, ['link set lo up', `addr add ${loopbackAddress}/32 dev lo`]);
      }
      if (hostPorts.length) await this.hostPorts.start(netnsAt, HOST_PORTS_ADDRESS, hostPorts);
    } catch (e) {
      this.disconnectNetworks();
      throw e;
    }
    if (this.outbound) writeFileSync(join(this.etcDir, 'resolv.conf'), slirpResolvConf());
    this.writeHosts(this.svc.networks.peersOf(this.id));
    // A warm shim's mount namespace predates the bind mount that pins the namespace: it reaches the
    // namespace through a descriptor of ours instead (a /proc fd link works from any mount namespace).
    this.netnsFd = openSync(netnsAt, 'r');
    return { netns: `/proc/${process.pid}/fd/${this.netnsFd}` };
  }

  /** The next container on the default bridge finds its namespace wired (SandboxNetworks.takeSpare). */
  private refillSpare(): void {
    const fits = this.spareFits;
    const support = this.svc.outbound;
    if (!fits) return;
    this.svc.networks.refillSpare(fits.record, {
      defaultRoute: fits.defaultRoute,
      ...(fits.outbound && support.usable ? { outbound: (netns: string) => startOutbound(support.helper, netns, { hostLoopback: false }) } : {}),
    });
  }

  private disconnectNetworks(): void {
    this.hostPorts.close();
    this.outbound?.close();
    this.outbound = undefined;
    if (this.attachments.length) this.svc.networks.disconnect(this.id);
    this.attachments = [];
    if (this.netnsFd >= 0) closeSync(this.netnsFd);
    this.netnsFd = -1;
    if (this.ownsNetns && this.netnsAt) removeNetns(this.netnsAt);
    this.ownsNetns = false;
    this.netnsAt = undefined;
  }

  /**
   * `docker network connect`: a running container gets an interface on the network at once (its
   * peers' hosts files learn its name); a stopped one joins at its next start. Either way it is
   * remembered in its spec.
   */
  async connectNetwork(name: string, aliases: string[]): Promise<Attachment[]> {
    if (this.spec.network === 'host') throw new MayflyError('INVALID_OPTION', `container ${this.name} uses the host's network: it cannot join others`);
    if (networkMemberships(this.spec).some((m) => m.name === name)) throw new MayflyError('NETWORK_EXISTS', `container ${this.name} is already on network ${name}`);
    const network = getNetwork(this.svc.layout, name);
    if (network.builtin && aliases.length) throw new MayflyError('INVALID_OPTION', `aliases are for user-defined networks; ${name} is Docker's default bridge`);
    if (this.pid1 !== undefined) {
      const used = new Set(this.attachments.map((a) => a.interface));
      let i = 0;
      while (used.has(`eth${i}`)) i++;
      const netns = this.netnsAt && existsSync(this.netnsAt) ? this.netnsAt : `/proc/${this.pid1}/ns/net`;
      const member = { id: this.id, name: this.name, hostname: this.hostname(), onPeersChanged: (lines: string[]) => this.writeHosts(lines) };
      this.attachments.push(await this.svc.networks.attach(member, netns, { network, aliases }, `eth${i}`));
      this.writeHosts(this.svc.networks.peersOf(this.id));
    }
    if (this.spec.network === 'none') {
      this.spec.network = name;
      this.spec.networkAliases = aliases;
    } else this.spec.networks.push({ name, aliases });
    this.saveState();
    return this.attachments;
  }

  /** `docker network disconnect`: off the network now if it runs, and for its next starts. */
  async disconnectNetwork(name: string): Promise<Attachment[]> {
    if (!networkMemberships(this.spec).some((m) => m.name === name)) throw new MayflyError('NETWORK_NOT_FOUND', `container ${this.name} is not connected to network ${name}`);
    const a = this.attachments.find((x) => x.network === name);
    if (a) {
      await this.svc.networks.detach(this.id, name);
      this.attachments = this.attachments.filter((x) => x !== a);
      this.writeHosts(this.svc.networks.peersOf(this.id));
    }
    if (this.spec.network === name) {
      this.spec.network = 'none';
      this.spec.networkAliases = [];
    } else this.spec.networks = this.spec.networks.filter((n) => n.name !== name);
    this.saveState();
    return this.attachments;
  }

  private volumeDir(name: string): string {
    return join(this.svc.layout.volumes, name, '_data');
  }

  private hostname(): string {
    return this.spec.hostname ?? (this.spec.network === 'host' ? hostHostname() : this.id.slice(0, 12));
  }

  private writeEtcFiles(): void {
    const etc = this.etcDir;
    this.writeHosts([]);
    writeFileSync(join(etc, 'hostname'), `${this.hostname()}\n`);
    writeFileSync(join(etc, 'resolv.conf'), readTextIfPresent('/etc/resolv.conf') || 'nameserver 127.0.0.1\n');
  }

  /**
   * The container's own names on its first address, then its peers on shared networks. Written in
   * place (same inode): the file is bind-mounted into the running container.
   */
  private writeHosts(peers: string[]): void {
    const h = this.hostname();
    const own = [...new Set([h, this.name])].join('\t');
    const hosts =
      this.spec.network === 'host'
        ? (readTextIfPresent('/etc/hosts') ?? '')
        : [
            '127.0.0.1\tlocalhost',
            '::1\tlocalhost ip6-localhost ip6-loopback',
            `${this.attachments[0]?.ip ?? '127.0.1.1'}\t${own}`,
            ...peers,
            '',
          ].join('\n');
    writeFileSync(join(this.etcDir, 'hosts'), hosts + this.hostAccessLines());
  }

  /**
   * The host's names, only when the container may reach it: host.mayfly.internal (and Docker's
   * host.docker.internal) for host-gateway or exposed host ports; each `extraHosts` entry.
   */
  private hostAccessLines(): string {
    const hostIp = this.spec.network === 'host' ? '127.0.0.1' : this.wantsHostGateway ? HOST_GATEWAY : HOST_PORTS_ADDRESS;
    const reachable = this.wantsHostGateway || this.spec.exposedHostPorts.length > 0;
    const lines = [
      ...(reachable ? [`${hostIp}\t${HOST_ALIASES.join(' ')}`] : []),
      ...this.spec.extraHosts.map((h) => `${h.ip === HOST_GATEWAY_NAME ? hostIp : h.ip}\t${h.name}`),
    ];
    return lines.map((l) => `${l}\n`).join('');
  }

  private get rootfsOwner() {
    return { dir: this.dir, layers: this.spec.layers };
  }

  /** The container's changes to its layers, in overlay format (for commit and Dockerfile RUN steps). */
  diff(): Promise<RootfsDiff> {
    return this.svc.rootfs.diff(this.rootfsOwner);
  }

  private saveState(): void {
    writeJsonAtomic(join(this.dir, 'state.json'), this.state());
  }

  private state(): ContainerState {
    const running = this.status === 'running' || this.status === 'paused';
    return {
      id: this.id,
      name: this.name,
      sandboxId: this.svc.sandboxId,
      createdAt: this.createdAt,
      status: this.status,
      command: this.spec.command,
      spec: this.spec,
      ...(this.extras.persistent ? { persistent: true } : {}),
      ...(this.extras.autoRemove ? { autoRemove: true } : {}),
      ...(this.extras.entrypoint ? { entrypoint: this.extras.entrypoint } : {}),
      ...(this.extras.cmd ? { cmd: this.extras.cmd } : {}),
      ...(this.startedAt ? { startedAt: this.startedAt } : {}),
      ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
      ...(running && this.pid1 !== undefined ? { pid: this.pid1 } : {}),
      ...(running ? { ports: this.published, attachments: this.attachments } : {}),
      ...(this.oomKilled ? { oomKilled: true } : {}),
      ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}),
      ...(this.spec.labels['mayfly.image'] ? { image: this.spec.labels['mayfly.image'] } : {}),
      ...(this.spec.labels['mayfly.image.id'] ? { imageId: this.spec.labels['mayfly.image.id'] } : {}),
      layers: this.spec.layers,
      ...(networkMemberships(this.spec).length ? { networks: networkMemberships(this.spec).map((m) => m.name) } : {}),
      ...(this.spec.volumes.length ? { volumes: this.spec.volumes.map((v) => v.name) } : {}),
      ...(this.spec.tmpfs.some((t) => t.from) ? { seededFrom: this.spec.tmpfs.flatMap((t) => (t.from ? [t.from] : [])) } : {}),
    };
  }

  private startPlan(network: StartPlan['network'], rootfs: StartPlan['rootfs'], ttyPath: string | undefined): StartPlan {
    const s = this.spec;
    return {
      kind: 'start',
      rootfs,
      hostname: this.hostname(),
      limits: this.svc.startLimits,
      network,
      mounts: byDepth([
        ...s.tmpfs.map((t, i) => ({ kind: 'tmpfs' as const, source: 'tmpfs', target: t.path, readonly: false, ...(t.size ? { size: t.size } : {}), ...(t.mode !== undefined ? { mode: t.mode } : {}), ...(t.from ? { from: t.from, fromOwner: ownerOf(t.from), scratch: join(this.dir, 'seeded', String(i)) } : {}), ...(t.noexec ? { noexec: true } : {}) })),
        ...s.binds.map((b) => ({ kind: 'bind' as const, source: b.source, target: b.target, readonly: b.readonly, sourceIsDir: isDirectory(b.source) })),
        ...s.volumes.map((v) => ({ kind: 'bind' as const, source: this.volumeDir(v.name), target: v.target, readonly: v.readonly, sourceIsDir: true })),
        ...s.anonymousVolumes.map((target, i) => ({ kind: 'bind' as const, source: imageVolumeDir(this.dir, i), target, readonly: false, sourceIsDir: true })),
      ]),
      etcFiles: ['hosts', 'hostname', 'resolv.conf'].map((f) => ({ source: join(this.etcDir, f), target: `/etc/${f}` })),
      init: s.init ? this.svc.initBinary : null,
      fullIdMap: this.svc.fullIdMap,
      readonlyPaths: this.isolation.readonlyPaths,
      maskedPaths: this.isolation.maskedPaths,
      capabilities: this.isolation.capabilities,
      seccomp: this.isolation.seccomp,
      argv: s.command,
      env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
      workingDir: s.workingDir,
      user: s.user,
      setgroups: this.svc.fullIdMap,
      cgroupProcs: this.cgroup?.procsFiles ?? [],
      ...(ttyPath !== undefined ? { tty: { path: ttyPath } } : {}),
      devpts: s.tty ? this.devptsDir : null,
    };
  }

  /** where the sandbox mounts the devpts of a container started with a terminal (bound at its /dev/pts) */
  private get devptsDir(): string {
    return join(dirname(this.etcDir), 'pts');
  }

  /**
   * PID 1's descriptors: with `-t` a pty of a devpts instance of the container's own, mounted here
   * first (the process cannot hand a pty it opens back to us: it shares nothing with the sandbox
   * once it runs), bound at its /dev/pts by the start steps; with `-i` a pipe for its stdin.
   */
  private prepareIO(size: { cols: number; rows: number } | undefined): { io: ProcessIO; input?: ProcessInput; output?: Readable; ttyPath?: string; handedOver(): void } {
    if (this.spec.tty) {
      const dir = this.devptsDir;
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      unmountQuietly(dir);
      mounts.mount('devpts', dir, 'devpts', DEVPTS_FLAGS, devptsOptions(this.svc.fullIdMap));
      try {
        const t = terminal(join(dir, 'ptmx'), size);
        return { io: { terminal: t.slave }, input: t.input, output: t.output, ttyPath: t.path, handedOver: () => closeSync(t.slave) };
      } catch (e) {
        unmountQuietly(dir);
        throw e;
      }
    }
    if (this.spec.openStdin) {
      const p = stdinPipe();
      return { io: { stdin: p.childFd }, input: p.input, handedOver: () => closeSync(p.childFd) };
    }
    return { io: {}, handedOver() {} };
  }

  /** PID 1's input (`-i`/`-t`), if it runs with one */
  get input(): ProcessInput | undefined {
    return this.processInput;
  }

  async start(attach: boolean, size?: { cols: number; rows: number }): Promise<{ pid: number; ports: PublishedPort[]; networks: Attachment[] }> {
    if (this.status === 'running' || this.status === 'paused') {
      throw new MayflyError('CONTAINER_STATE', `container ${this.name} is already running`);
    }
    if (this.spec.init && !this.svc.initBinary) {
      throw new MayflyError('CONTAINER_START_FAILED', 'init: true needs tini on the host', { hint: 'apt install tini' });
    }
    this.attach = attach;
    this.exitCode = undefined;
    const network = await this.connectNetworks();
    let io: ReturnType<SandboxContainer['prepareIO']> | undefined;
    const launch = await (async () => {
      const mounted = await this.svc.rootfs.mount(this.rootfsOwner);
      io = this.prepareIO(size);
      // a terminal's devpts is a mount newer than a warm shim's namespace
      try {
        return await this.svc.launcher.launch(startSteps(this.startPlan(network, mounted.plan, io.ttyPath)), { fresh: mounted.freshShim || this.spec.tty, io: io.io });
      } finally {
        io.handedOver();
      }
    })().catch(async (e: unknown) => {
      io?.input?.close();
      this.releaseTerminal();
      await this.svc.rootfs.unmount(this.rootfsOwner);
      this.disconnectNetworks();
      throw e;
    });
    const onData = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
      this.log.write(stream, d);
      if (this.attach) this.svc.emit({ event: 'output', id: this.id, stream, data: d });
    };
    for (const stream of ['stdout', 'stderr'] as const) launch[stream].on('data', onData(stream));
    // a terminal's output is all stdout, as Docker's; it ends when the last holder of the pty goes
    const terminalEnded = io?.output ? new Promise<void>((r) => io!.output!.on('data', onData('stdout')).once('close', () => r())) : Promise.resolve();
    this.processInput = io?.input;
    this.starting = launch;
    const failure = await launch.started.finally(() => {
      this.starting = undefined;
      this.svc.launcher.refill();
      this.refillSpare();
    });
    if (failure) {
      await launch.done;
      this.processInput?.close();
      this.processInput = undefined;
      this.releaseTerminal();
      await this.svc.rootfs.unmount(this.rootfsOwner);
      this.disconnectNetworks();
      this.status = 'exited';
      this.exitCode = failure.exitCode;
      this.saveState();
      throw startFailure(failure, this.name);
    }
    const pid = launch.pid;
    this.pid1 = pid;
    this.status = 'running';
    this.startedAt = new Date().toISOString();
    this.finishedAt = undefined;
    this.oomKilled = false;
    this.exited = Promise.all([launch.done, terminalEnded]).then(([code]) => this.onExit(code));
    try {
      this.published = await this.forwarder.start(`/proc/${pid}/ns/net`, this.portMappings());
    } catch (e) {
      // a program that exited at once took its namespace along: that is an exit (reported as one,
      // with its logs), not a publishing failure
      if (!existsSync(`/proc/${pid}/ns/net`) || (e as NodeJS.ErrnoException).code === 'ENOENT') this.published = [];
      else {
        await this.stop('SIGKILL', 0);
        throw e;
      }
    }
    this.saveState();
    return { pid, ports: this.published, networks: this.attachments };
  }

  /** `ports`, plus every exposed port not mapped yet when `publishAll` (Docker's -P). */
  private portMappings(): PortMapping[] {
    const explicit = this.spec.ports.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIp, protocol: p.protocol }));
    if (!this.spec.publishAll) return explicit;
    // exposedPorts are tcp only (runtime.ts drops an image's udp ones): a udp mapping leaves the tcp side of its port to -P
    const mapped = new Set(explicit.filter((p) => p.protocol === 'tcp').map((p) => p.containerPort));
    const all = [...new Set(this.spec.exposedPorts)].filter((p) => !mapped.has(p));
    return [...explicit, ...all.map((containerPort) => ({ containerPort, hostPort: 0, hostIp: '127.0.0.1', protocol: 'tcp' as const }))];
  }

  private releaseTerminal(): void {
    if (this.spec.tty) unmountQuietly(this.devptsDir);
  }

  private async onExit(code: number): Promise<number> {
    this.processInput?.close();
    this.processInput = undefined;
    this.releaseTerminal();
    this.forwarder.close();
    this.published = [];
    this.disconnectNetworks();
    this.log.flush();
    await this.svc.rootfs.unmount(this.rootfsOwner);
    const oomKilled = this.cgroup?.oomKilled() ?? false;
    this.status = 'exited';
    this.exitCode = code;
    this.finishedAt = new Date().toISOString();
    this.oomKilled = oomKilled;
    this.pid1 = undefined;
    this.pausedBy = undefined;
    this.saveState();
    this.svc.emit({ event: 'exit', id: this.id, exitCode: code, oomKilled });
    return code;
  }

  private running(): number {
    if (this.pid1 === undefined || (this.status !== 'running' && this.status !== 'paused')) {
      throw new MayflyError('CONTAINER_STATE', `container ${this.name} is not running`);
    }
    return this.pid1;
  }

  async stop(signal = this.spec.stopSignal, timeout = this.spec.stopTimeout): Promise<number> {
    if (this.pid1 === undefined) return this.exitCode ?? 0;
    const exited = this.exited!;
    this.signal(signal);
    const timer = setTimeout(() => this.signal('SIGKILL'), timeout * 1000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: string): void {
    this.running();
    this.signal(signal);
  }

  private signal(signal: string): void {
    const pid = this.pid1;
    if (pid === undefined) return;
    try {
      process.kill(pid, signalName(signal));
    } catch {
      // already gone
    }
    // a frozen or stopped process only acts on the signal once it runs again
    if (this.status === 'paused') void this.unpause().catch(() => {});
  }

  async pause(): Promise<'freezer' | 'sigstop'> {
    const pid = this.running();
    if (this.status === 'paused') return this.pausedBy!;
    if (this.cgroup?.canFreeze) {
      await this.cgroup.freeze();
      this.pausedBy = 'freezer';
    } else {
      signalAll(pid, 'SIGSTOP');
      this.pausedBy = 'sigstop';
    }
    this.status = 'paused';
    this.saveState();
    return this.pausedBy;
  }

  async unpause(): Promise<void> {
    if (this.status !== 'paused') return;
    if (this.pausedBy === 'freezer') await this.cgroup!.thaw();
    else if (this.pid1 !== undefined) signalAll(this.pid1, 'SIGCONT');
    this.status = this.pid1 === undefined ? 'exited' : 'running';
    this.pausedBy = undefined;
    this.saveState();
  }

  private joinPlan(req: ExecRequest, pid: number, ttyPath: string | undefined): JoinPlan {
    const env = { ...this.spec.env, ...req.env };
    return {
      kind: 'join',
      targetPid: pid,
      joinNetwork: this.spec.network !== 'host',
      hostname: this.hostname(),
      argv: req.argv,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      workingDir: req.workingDir ?? this.spec.workingDir,
      user: req.user ?? this.spec.user,
      setgroups: this.svc.fullIdMap,
      cgroupProcs: this.cgroup?.procsFiles ?? [],
      // an exec'd process is held to the container's own limits, as in Docker
      capabilities: this.isolation.capabilities,
      seccomp: this.isolation.seccomp,
      ...(ttyPath !== undefined ? { tty: { path: ttyPath } } : {}),
    };
  }

  private execable(): number {
    const pid = this.running();
    if (this.status === 'paused') throw new MayflyError('CONTAINER_STATE', `container ${this.name} is paused`, { hint: 'unpause it first' });
    return pid;
  }

  async exec(req: ExecRequest): Promise<ExecResult> {
    const pid = this.execable();
    const run = await this.svc.launcher.exec(joinSteps(this.joinPlan(req, pid, undefined)), pid);
    const both: Buffer[] = [];
    const stdout = collect(run.stdout, both);
    const stderr = collect(run.stderr, both);
    const code = await run.exited;
    // the command is done when it exits, even if something it started in the background still
    // holds its output open: take what has arrived shortly after, then let go of the pipes. The
    // grace ends in the check phase (setImmediate), after a poll phase: when a busy loop let the timer
    // expire first, output and end of file already in the pipe are still read (under load, 100
    // concurrent execs lost some of their output to a timer that ran before the poll)
    await Promise.race([run.done, new Promise((r) => setTimeout(() => setImmediate(r), EXEC_OUTPUT_GRACE_MS))]);
    run.release();
    const failure = run.failure();
    if (failure && failure.exitCode !== 126 && failure.exitCode !== 127) {
      throw new MayflyError('EXEC_FAILED', `exec in ${this.name} failed at "${failure.step}": ${failure.message}`, { details: { ...failure }, hint: userNotMapped(failure) });
    }
    const failed = failure ? `${failure.message}\n` : '';
    return { exitCode: failure?.exitCode ?? code, stdout: stdout(), stderr: stderr() + failed, output: Buffer.concat(both).toString() + failed };
  }

  /**
   * exec with its output streamed (`onOutput`) and, with `stdin` or `tty`, its input held (`-i`,
   * `-t`: a pty of the container's devpts). Resolves once the command runs; `exited` gives its
   * exit code (126/127 when it could not be run, with the reason on stderr) after its output.
   */
  async execAttached(
    req: ExecRequest,
    opts: { tty: boolean; stdin: boolean; size?: { cols: number; rows: number } },
    onOutput: (stream: 'stdout' | 'stderr', data: Uint8Array) => void,
  ): Promise<{ input?: ProcessInput; exited: Promise<number> }> {
    const pid = this.execable();
    let io: ProcessIO = {};
    let input: ProcessInput | undefined;
    let output: Readable | undefined;
    let handedOver = () => {};
    let ttyPath: string | undefined;
    if (opts.tty) {
      const t = terminal(`/proc/${pid}/root/dev/pts/ptmx`, opts.size);
      ({ input, output } = t);
      ttyPath = t.path;
      io = { terminal: t.slave };
      handedOver = () => closeSync(t.slave);
    } else if (opts.stdin) {
      const p = stdinPipe();
      input = p.input;
      io = { stdin: p.childFd };
      handedOver = () => closeSync(p.childFd);
    }
    let run: Awaited<ReturnType<Launcher['exec']>>;
    try {
      run = await this.svc.launcher.exec(joinSteps(this.joinPlan(req, pid, ttyPath)), pid, io);
    } catch (e) {
      input?.close();
      throw e;
    } finally {
      handedOver();
    }
    run.stdout.on('data', (d: Buffer) => onOutput('stdout', d));
    run.stderr.on('data', (d: Buffer) => onOutput('stderr', d));
    const outputEnded = output ? new Promise<void>((r) => output!.on('data', (d: Buffer) => onOutput('stdout', d)).once('close', () => r())) : Promise.resolve();
    const exited = (async () => {
      const code = await run.exited;
      // the grace ends after a poll phase, as exec()'s (output already in the pipe is read first)
      await Promise.race([Promise.all([run.done, outputEnded]), new Promise((r) => setTimeout(() => setImmediate(r), EXEC_OUTPUT_GRACE_MS))]);
      run.release();
      input?.close();
      const failure = run.failure();
      if (failure) onOutput('stderr', Buffer.from(`${failure.message}\n`));
      return failure?.exitCode ?? code;
    })();
    return { ...(input ? { input } : {}), exited };
  }

  stats(): ContainerStats {
    const pid = this.running();
    if (this.cgroup) return { source: 'cgroup', ...this.cgroup.stats() };
    return { source: 'proc', ...processUsage(containerProcesses(pid)) };
  }

  listening(): number[] {
    return listeningPorts(this.running());
  }

  /**
   * Where a copy reaches the container's files: a running one through its PID 1's root; a created or
   * stopped one (Docker copies into those too: Testcontainers copies its files before the start)
   * through its root filesystem mounted here for the copy's length — the same layers, upper and
   * work dirs its start mounts, so what is copied is there when it starts.
   */
  async withRoot<T>(fn: (root: string) => Promise<T>): Promise<T> {
    if (this.status === 'running' || this.status === 'paused' || this.starting) return fn(`/proc/${this.runningPid()}/root`);
    const { plan } = await this.svc.rootfs.mount(this.rootfsOwner);
    let mounted = false;
    try {
      if (plan.driver === 'overlay') {
        // as the shim mounts it (shim/steps.ts); the driver's next mount clears what `volatile` leaves in the work dir
        const lower = [...plan.lowerDirs].reverse().join(':');
        mounts.mount('overlay', plan.target, 'overlay', mounts.MS.NOSUID | mounts.MS.NODEV, `lowerdir=${lower},upperdir=${plan.upperDir},workdir=${plan.workDir},userxattr,volatile`);
        mounted = true;
      }
      return await fn(plan.target);
    } finally {
      if (mounted) mounts.umount(plan.target);
      await this.svc.rootfs.unmount(this.rootfsOwner);
    }
  }

  /** PID 1 of a running, unpaused container (copies need its root) */
  runningPid(): number {
    const pid = this.running();
    if (this.status === 'paused') throw new MayflyError('CONTAINER_STATE', `container ${this.name} is paused`, { hint: 'unpause it first' });
    return pid;
  }

  async remove(force: boolean): Promise<void> {
    // a start in progress (the sandbox shutting down mid-start): its shim goes first, or it would hold the cgroup
    const starting = this.starting;
    if (starting && force) {
      try {
        process.kill(starting.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([starting.done, new Promise((r) => setTimeout(r, 2000))]);
    }
    if (this.pid1 !== undefined) {
      if (!force) throw new MayflyError('CONTAINER_STATE', `container ${this.name} is running`, { hint: 'stop it first, or remove it with force' });
      await this.stop('SIGKILL', 0);
    }
    this.log.close();
    await this.cgroup?.remove();
    await this.svc.rootfs.remove(this.rootfsOwner);
    this.svc.trash.discard(this.dir);
    removeRunFiles(dirname(this.etcDir));
    releaseName(this.svc.layout, this.name, this.id);
  }

  /**
   * Lets go of a persistent container without removing it (its sandbox is ending): stopped if it
   * runs, unmounted, out of its networks and cgroup; its directory, record and name stay.
   */
  async release(): Promise<void> {
    if (this.pid1 !== undefined) await this.stop('SIGKILL', 0);
    this.log.close();
    await this.cgroup?.remove();
    this.cgroup = null;
    this.saveState();
  }

  /** bytes of the container's own files: the writable layer (a copy driver's whole copy) */
  diskUsage(): number {
    const upper = join(this.dir, 'upper');
    return directorySize(existsSync(upper) ? upper : join(this.dir, 'rootfs'));
  }

  recentLogs(): string {
    return formatLogs(this.log.tail.slice(-50));
  }
}

/**
 * The generated /etc files and their directories (on the scratch tmpfs): the known names removed
 * one by one, a directory walk only when something else is there (a terminal's pts directory).
 */
function removeRunFiles(dir: string): void {
  try {
    for (const f of ['hosts', 'hostname', 'resolv.conf']) unlinkSync(join(dir, 'etc', f));
    rmdirSync(join(dir, 'etc'));
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Detaches a mount if there is one (a terminal's devpts) */
function unmountQuietly(dir: string): void {
  try {
    mounts.umount(dir, true);
  } catch {
    // not mounted
  }
}

function startFailure(f: StartFailure, name: string): MayflyError {
  if (f.exitCode === 127) return new MayflyError('COMMAND_NOT_FOUND', f.message, { details: { exitCode: 127, container: name } });
  if (f.exitCode === 126) return new MayflyError('COMMAND_NOT_EXECUTABLE', f.message, { details: { exitCode: 126, container: name } });
  return new MayflyError('CONTAINER_START_FAILED', `container ${name} failed to start at step "${f.step}": ${f.message}`, {
    details: { exitCode: 125, step: f.step, errno: f.errno, container: name },
    hint: f.step.startsWith('mount') ? 'run `mayfly doctor` to see which mounts this machine allows' : userNotMapped(f),
  });
}

/** A user other than root in a namespace that maps one id: the kernel refuses it (EINVAL). */
function userNotMapped(f: { step: string; errno?: string | undefined }): string | undefined {
  return f.step === 'set user' && f.errno === 'EINVAL' ? process.env.MAYFLY_SINGLE_ID_NOTE : undefined;
}

/** slirp's DNS forwarder, with the host's search domains and options */
function slirpResolvConf(): string {
  const host = (readTextIfPresent('/etc/resolv.conf') ?? '').split('\n').filter((l) => /^(search|domain|options)\b/.test(l));
  return [`nameserver ${SLIRP_DNS}`, ...host, ''].join('\n');
}

/** The owner and mode of a directory a tmpfs starts from (checked to exist at create). */
function ownerOf(path: string): { uid: number; gid: number; mode: number } {
  const st = statSync(path);
  return { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return true; // checked at create; a bind whose source vanished since fails at its mount step
  }
}

/** Shallower targets first (a stable sort, as Docker's): a mount inside another one is made after it, not hidden by it. */
function byDepth<M extends { target: string }>(mounts: M[]): M[] {
  const depth = (m: M) => posix.normalize(m.target).split('/').filter(Boolean).length;
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map(({ m }) => m);
}
