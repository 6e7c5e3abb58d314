/**
 * One container as its sandbox sees it: its directory, its shim and PID 1, its log, its cgroup,
 * and the lifecycle verbs (start, stop, kill, pause, exec, stats, remove).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { closeSync, existsSync, lstatSync, openSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { constants, hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { readTextIfPresent } from '../../files.js';
import { runTool } from '../../host-tool.js';
import { MayflyError } from '../../errors.js';
import type { ContainerCgroup } from '../cgroups/types.js';
import { formatLogs, LogWriter } from '../logs.js';
import { containerProcesses, processUsage, signalAll } from '../process-tree.js';
import type { JoinPlan, ShimMessage, StartPlan } from '../shim/plan.js';
import { networkMemberships, type ContainerSpec } from '../spec.js';
import { getXattr } from '../syscalls.js';
import { releaseName, writeJsonAtomic, type ContainerState, type Layout } from '../state.js';
import type { ContainerStats, ExecRequest, ExecResult } from './protocol.js';
import { type FuseMount, mountFuseOverlay } from './fuse-overlay.js';
import { execved, spawnShimProcess, type Shim } from './shim-pool.js';
import { listeningPorts } from '../../network/listening-ports.js';
import { getNetwork } from '../../network/network-store.js';
import { removeNetns } from '../../network/netns.js';
import type { Attachment, SandboxNetworks } from '../../network/sandbox-networks.js';
import { HOST_ALIASES, HOST_GATEWAY, SLIRP_DNS, startOutbound, type Outbound, type OutboundSupport } from '../../network/outbound.js';
import { PortForwarder, type PortMapping, type PublishedPort } from '../../network/port-forwarder.js';

export type RootfsDriver = 'overlay' | 'fuse-overlayfs' | 'copy';

export interface SandboxServices {
  layout: Layout;
  sandboxId: string;
  rootfsDriver: RootfsDriver;
  fullIdMap: boolean;
  initBinary: string | null;
  shimCommand: string[];
  /** a warm shim, or (`fresh`) one started now, whose mount namespace sees the sandbox's latest mounts */
  takeShim(fresh?: boolean): Promise<Shim>;
  /** warms the next shim; called when a start is over */
  refillShims(): void;
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
  private proc: ChildProcess | undefined;
  private exited: Promise<number> | undefined;
  private exitCode: number | undefined;
  private log: LogWriter;
  private cgroup: ContainerCgroup | null = null;
  private pausedBy: 'freezer' | 'sigstop' | undefined;
  private fuse: FuseMount | undefined;
  private readonly forwarder = new PortForwarder();
  private published: PublishedPort[] = [];
  private attach = false;
  private attachments: Attachment[] = [];
  private netnsFd = -1;
  private outbound: Outbound | undefined;
  private readonly createdAt = new Date().toISOString();

  constructor(
    readonly id: string,
    readonly name: string,
    readonly spec: ContainerSpec,
    private readonly svc: SandboxServices,
  ) {
    this.dir = join(svc.layout.containers, id);
    this.log = new LogWriter(join(this.dir, 'log.jsonl'));
  }

  /** Prepares the container's directory: upper/work dirs, generated /etc files, volumes, cgroup. */
  async create(): Promise<void> {
    this.memberships(); // an unknown network fails here, before anything is made
    for (const d of ['upper', 'work', 'rootfs', 'etc']) mkdirSync(join(this.dir, d), { recursive: true, mode: 0o755 });
    this.saveState(); // at once: an image prune elsewhere must see which layers this container uses
    this.writeEtcFiles();
    for (const v of this.spec.volumes) mkdirSync(this.volumeDir(v.name), { recursive: true, mode: 0o755 });
    for (const b of this.spec.binds) {
      if (!existsSync(b.source)) {
        throw new MayflyError('INVALID_OPTION', `bind mount source ${b.source} does not exist`, {
          hint: 'create it first, or use a named volume (-v NAME:/path) that mayfly creates for you',
        });
      }
    }
    if (this.svc.rootfsDriver === 'copy') await this.copyLayers();
    this.cgroup = await this.svc.createCgroup(this.id, this.spec);
    this.saveState();
  }

  private memberships() {
    return networkMemberships(this.spec).map((m) => ({ network: getNetwork(this.svc.layout, m.name), aliases: m.aliases }));
  }

  private get netnsFile(): string {
    return join(this.dir, 'netns');
  }

  /** A namespace of its own, wired into each user-defined network, before the shim joins it. */
  private async connectNetworks(): Promise<StartPlan['network']> {
    const memberships = this.memberships();
    if (!memberships.length) return this.spec.network === 'host' ? 'host' : 'none';
    const support = this.svc.outbound;
    const wantsOutbound = memberships.some((m) => !m.network.internal);
    if (wantsOutbound && !support.usable) this.svc.warnOnce(`containers on networks have no outbound access (${support.reason}): ${support.fix}`);
    try {
      this.attachments = await this.svc.networks.connect(
        { id: this.id, name: this.name, hostname: this.hostname(), onPeersChanged: (lines) => this.writeHosts(lines) },
        this.netnsFile,
        memberships,
        { defaultRoute: !(wantsOutbound && support.usable) },
      );
      if (wantsOutbound && support.usable) this.outbound = await startOutbound(support.helper, this.netnsFile);
    } catch (e) {
      this.disconnectNetworks();
      removeNetns(this.netnsFile);
      throw e;
    }
    if (this.outbound) writeFileSync(join(this.dir, 'etc', 'resolv.conf'), slirpResolvConf());
    this.writeHosts(this.svc.networks.peersOf(this.id));
    // A warm shim's mount namespace predates the bind mount that pins the namespace: it reaches the
    // namespace through a descriptor of ours instead (a /proc fd link works from any mount namespace).
    this.netnsFd = openSync(this.netnsFile, 'r');
    return { netns: `/proc/${process.pid}/fd/${this.netnsFd}` };
  }

  private disconnectNetworks(): void {
    this.outbound?.close();
    this.outbound = undefined;
    if (!this.attachments.length) return;
    this.svc.networks.disconnect(this.id);
    this.attachments = [];
    if (this.netnsFd >= 0) closeSync(this.netnsFd);
    this.netnsFd = -1;
    removeNetns(this.netnsFile);
  }

  private volumeDir(name: string): string {
    return join(this.svc.layout.volumes, name, '_data');
  }

  private hostname(): string {
    return this.spec.hostname ?? (this.spec.network === 'host' ? hostHostname() : this.id.slice(0, 12));
  }

  private writeEtcFiles(): void {
    const etc = join(this.dir, 'etc');
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
            ...(this.outbound ? [`${HOST_GATEWAY}\t${HOST_ALIASES.join(' ')}`] : []),
            '',
          ].join('\n');
    writeFileSync(join(this.dir, 'etc', 'hosts'), hosts);
  }

  /** Without an overlay filesystem the container gets a private copy of its layers, bottom first. */
  private async copyLayers(): Promise<void> {
    const target = join(this.dir, 'rootfs');
    for (const layer of this.spec.layers) {
      const { whiteouts, opaque } = overlayMarkers(layer);
      // what this layer deletes or hides goes first, then its files; its whiteout nodes last
      for (const p of [...whiteouts, ...opaque]) rmSync(join(target, p), { recursive: true, force: true });
      await runTool('cp', ['-a', '--no-target-directory', layer, target]);
      for (const p of whiteouts) rmSync(join(target, p), { force: true });
    }
  }

  private saveState(): void {
    const state: ContainerState = {
      id: this.id,
      name: this.name,
      sandboxId: this.svc.sandboxId,
      createdAt: this.createdAt,
      status: this.status,
      command: this.spec.command,
      ...(this.exitCode !== undefined ? { exitCode: this.exitCode } : {}),
      ...(this.spec.labels['mayfly.image'] ? { image: this.spec.labels['mayfly.image'] } : {}),
      ...(this.spec.labels['mayfly.image.id'] ? { imageId: this.spec.labels['mayfly.image.id'] } : {}),
      layers: this.spec.layers,
      ...(networkMemberships(this.spec).length ? { networks: networkMemberships(this.spec).map((m) => m.name) } : {}),
      ...(this.spec.volumes.length ? { volumes: this.spec.volumes.map((v) => v.name) } : {}),
    };
    writeJsonAtomic(join(this.dir, 'state.json'), state);
  }

  private startPlan(network: StartPlan['network']): StartPlan {
    const s = this.spec;
    return {
      kind: 'start',
      rootfs:
        this.svc.rootfsDriver === 'overlay'
          ? { driver: 'overlay', lowerDirs: s.layers, upperDir: join(this.dir, 'upper'), workDir: join(this.dir, 'work'), target: join(this.dir, 'rootfs') }
          : { driver: 'prepared', target: join(this.dir, 'rootfs') },
      hostname: this.hostname(),
      network,
      mounts: [
        ...s.tmpfs.map((t) => ({ kind: 'tmpfs' as const, source: 'tmpfs', target: t.path, readonly: false, ...(t.size ? { size: t.size } : {}), ...(t.mode !== undefined ? { mode: t.mode } : {}) })),
        ...s.binds.map((b) => ({ kind: 'bind' as const, source: b.source, target: b.target, readonly: b.readonly })),
        ...s.volumes.map((v) => ({ kind: 'bind' as const, source: this.volumeDir(v.name), target: v.target, readonly: v.readonly })),
      ],
      etcFiles: ['hosts', 'hostname', 'resolv.conf'].map((f) => ({ source: join(this.dir, 'etc', f), target: `/etc/${f}` })),
      init: s.init ? this.svc.initBinary : null,
      fullIdMap: this.svc.fullIdMap,
      argv: s.command,
      env: Object.entries(s.env).map(([k, v]) => `${k}=${v}`),
      workingDir: s.workingDir,
      user: s.user,
      cgroupProcs: this.cgroup?.procsFiles ?? [],
    };
  }

  async start(attach: boolean): Promise<{ pid: number; ports: PublishedPort[]; networks: Attachment[] }> {
    if (this.status === 'running' || this.status === 'paused') {
      throw new MayflyError('CONTAINER_STATE', `container ${this.name} is already running`);
    }
    if (this.spec.init && !this.svc.initBinary) {
      throw new MayflyError('CONTAINER_START_FAILED', 'init: true needs tini on the host', { hint: 'apt install tini' });
    }
    this.attach = attach;
    this.exitCode = undefined;
    const network = await this.connectNetworks();
    const fuse = this.svc.rootfsDriver === 'fuse-overlayfs';
    const shim = await (async () => {
      if (fuse) this.fuse = await mountFuseOverlay(this.spec.layers, join(this.dir, 'upper'), join(this.dir, 'work'), join(this.dir, 'rootfs'));
      return this.svc.takeShim(fuse);
    })().catch(async (e: unknown) => {
      await this.unmountFuse();
      this.disconnectNetworks();
      throw e;
    });
    const { proc } = shim;
    const outputs = { stdout: shim.stdout, stderr: shim.stderr };
    for (const stream of ['stdout', 'stderr'] as const) {
      outputs[stream].on('data', (d: Buffer) => {
        this.log.write(stream, d);
        if (this.attach) this.svc.emit({ event: 'output', id: this.id, stream, data: d });
      });
    }
    const wrapper = collect(proc.stderr!);
    let failure: Extract<ShimMessage, { type: 'failed' }> | undefined;
    // the exit counts once the last output is in the log
    const closed = shim.done.then(([code, signal]) => exitCodeOf(code, signal, wrapper()));
    // Either the shim announces its execve (then we watch it happen), or it reports a failure and exits.
    const outcome = new Promise<void>((resolve) => {
      proc.on('message', (m: ShimMessage) => {
        if (m.type === 'failed') failure = m;
        // gone instead of exec'd: wait for 'close', which comes after every message
        if (m.type === 'exec') void execved(shim).then((ok) => (ok ? resolve() : closed.then(() => resolve())));
      });
      void closed.then(() => resolve());
    });
    proc.send(this.startPlan(network));
    await outcome.finally(() => this.svc.refillShims());
    if (failure) {
      await closed;
      await this.unmountFuse();
      this.disconnectNetworks();
      this.status = 'exited';
      this.exitCode = failure.exitCode;
      this.saveState();
      throw startFailure(failure, this.name);
    }
    this.proc = proc;
    this.pid1 = shim.pid;
    this.status = 'running';
    this.exited = closed.then((code) => this.onExit(code));
    try {
      this.published = await this.forwarder.start(`/proc/${shim.pid}/ns/net`, this.portMappings());
    } catch (e) {
      // a program that exited at once took its namespace along: that is an exit (reported as one,
      // with its logs), not a publishing failure
      if (!existsSync(`/proc/${shim.pid}/ns/net`) || (e as NodeJS.ErrnoException).code === 'ENOENT') this.published = [];
      else {
        await this.stop('SIGKILL', 0);
        throw e;
      }
    }
    this.saveState();
    return { pid: shim.pid, ports: this.published, networks: this.attachments };
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

  private async unmountFuse(): Promise<void> {
    await this.fuse?.unmount();
    this.fuse = undefined;
  }

  private async onExit(code: number): Promise<number> {
    this.forwarder.close();
    this.published = [];
    this.disconnectNetworks();
    this.log.flush();
    await this.unmountFuse();
    const oomKilled = this.cgroup?.oomKilled() ?? false;
    this.status = 'exited';
    this.exitCode = code;
    this.pid1 = undefined;
    this.proc = undefined;
    this.pausedBy = undefined;
    this.saveState();
    this.svc.emit({ event: 'exit', id: this.id, exitCode: code, oomKilled });
    // a `volatile` overlay leaves a marker in its work dir that refuses a second mount: empty it
    // now, after the exit is reported and before any restart
    rmSync(join(this.dir, 'work'), { recursive: true, force: true });
    mkdirSync(join(this.dir, 'work'), { mode: 0o755 });
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

  async exec(req: ExecRequest): Promise<ExecResult> {
    const pid = this.running();
    if (this.status === 'paused') throw new MayflyError('CONTAINER_STATE', `container ${this.name} is paused`, { hint: 'unpause it first' });
    const env = { ...this.spec.env, ...req.env };
    const plan: JoinPlan = {
      kind: 'join',
      targetPid: pid,
      joinNetwork: this.spec.network !== 'host',
      argv: req.argv,
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      workingDir: req.workingDir ?? this.spec.workingDir,
      user: req.user ?? this.spec.user,
      cgroupProcs: this.cgroup?.procsFiles ?? [],
    };
    const [file, ...args] = ['nsenter', `--target=${pid}`, '--pid', '--', ...this.svc.shimCommand.slice(this.svc.shimCommand.indexOf('--') + 1)];
    const shim = spawnShimProcess(file!, args);
    const { proc } = shim;
    const stdout = collect(shim.stdout);
    const stderr = collect(shim.stderr);
    const wrapper = collect(proc.stderr!);
    let failure: Extract<ShimMessage, { type: 'failed' }> | undefined;
    proc.on('message', (m: ShimMessage) => {
      if (m.type === 'ready') proc.send(plan);
      else if (m.type === 'failed') failure = m;
    });
    const closed = shim.done;
    const [rawCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      proc.once('error', reject);
      proc.once('exit', (c, s) => resolve([c, s]));
    });
    // the command is done when it exits, even if something it started in the background still
    // holds its output open: take what has arrived shortly after, then let go of the pipes
    await Promise.race([closed, new Promise((r) => setTimeout(r, EXEC_OUTPUT_GRACE_MS))]);
    for (const stream of [...proc.stdio, shim.stdout, shim.stderr]) stream?.destroy();
    const code = exitCodeOf(rawCode, signal, wrapper());
    if (failure && failure.exitCode !== 126 && failure.exitCode !== 127) {
      throw new MayflyError('EXEC_FAILED', `exec in ${this.name} failed at "${failure.step}": ${failure.message}`, { details: { ...failure, wrapper: wrapper() } });
    }
    return { exitCode: failure?.exitCode ?? code, stdout: stdout(), stderr: stderr() + (failure ? `${failure.message}\n` : '') };
  }

  stats(): ContainerStats {
    const pid = this.running();
    if (this.cgroup) return { source: 'cgroup', ...this.cgroup.stats() };
    return { source: 'proc', ...processUsage(containerProcesses(pid)) };
  }

  listening(): number[] {
    return listeningPorts(this.running());
  }

  /** PID 1 of a running, unpaused container (copies need its root) */
  runningPid(): number {
    const pid = this.running();
    if (this.status === 'paused') throw new MayflyError('CONTAINER_STATE', `container ${this.name} is paused`, { hint: 'unpause it first' });
    return pid;
  }

  async remove(force: boolean): Promise<void> {
    if (this.pid1 !== undefined) {
      if (!force) throw new MayflyError('CONTAINER_STATE', `container ${this.name} is running`, { hint: 'stop it first, or remove it with force' });
      await this.stop('SIGKILL', 0);
    }
    this.log.close();
    await this.cgroup?.remove();
    rmSync(this.dir, { recursive: true, force: true });
    releaseName(this.svc.layout, this.name, this.id);
  }

  recentLogs(): string {
    return formatLogs(this.log.tail.slice(-50));
  }
}

function startFailure(f: Extract<ShimMessage, { type: 'failed' }>, name: string): MayflyError {
  if (f.exitCode === 127) return new MayflyError('COMMAND_NOT_FOUND', f.message, { details: { exitCode: 127, container: name } });
  if (f.exitCode === 126) return new MayflyError('COMMAND_NOT_EXECUTABLE', f.message, { details: { exitCode: 126, container: name } });
  return new MayflyError('CONTAINER_START_FAILED', `container ${name} failed to start at step "${f.step}": ${f.message}`, {
    details: { exitCode: 125, step: f.step, errno: f.errno, container: name },
    hint: f.step.startsWith('mount') ? 'run `mayfly doctor` to see which mounts this machine allows' : undefined,
  });
}

/** slirp's DNS forwarder, with the host's search domains and options */
function slirpResolvConf(): string {
  const host = (readTextIfPresent('/etc/resolv.conf') ?? '').split('\n').filter((l) => /^(search|domain|options)\b/.test(l));
  return [`nameserver ${SLIRP_DNS}`, ...host, ''].join('\n');
}

/** Gathers a stream's text; the returned function reads what has arrived so far. */
function collect(stream: Readable): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  return () => Buffer.concat(chunks).toString();
}

/**
 * Docker's exit code (128+n for signal n) from what the wrapper reports. util-linux 2.38 re-raises
 * its child's fatal signal on itself, but cannot for SIGKILL: it then exits 1 with this message.
 */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null, wrapperStderr: string): number {
  if (signal) return 128 + signalNumber(signal);
  if (code === 1 && wrapperStderr.includes('sigprocmask unblock failed')) return 128 + 9;
  return code ?? 0;
}

/** Overlay's whiteouts (0/0 character devices) and opaque directories in a layer, relative paths. */
export function overlayMarkers(layer: string): { whiteouts: string[]; opaque: string[] } {
  const whiteouts: string[] = [];
  const opaque: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(layer, rel), { withFileTypes: true })) {
      const p = join(rel, e.name);
      if (e.isCharacterDevice() && lstatSync(join(layer, p)).rdev === 0) whiteouts.push(p);
      else if (e.isDirectory()) {
        if (getXattr(join(layer, p), 'user.overlay.opaque') === 'y') opaque.push(p);
        walk(p);
      }
    }
  };
  walk('');
  return { whiteouts, opaque };
}

