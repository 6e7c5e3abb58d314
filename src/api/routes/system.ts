/**
 * `/_ping`, `/version`, `/info`: what clients ask first. `/info` says what this engine honestly is:
 * rootless or not, its storage driver, and whether cgroup limits apply.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { packageRoot } from '../../core/paths.js';
import { API_VERSION, MIN_API_VERSION } from '../server.js';
import type { ApiCall, Route } from '../route.js';

let version: string | undefined;
const mayflyVersion = () => (version ??= (JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { version: string }).version);

const goArch = () => ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' })[arch() as string] ?? arch();

function ping(call: ApiCall) {
  return call.reply(200, 'OK', { 'Cache-Control': 'no-cache, no-store, must-revalidate', Pragma: 'no-cache', 'Builder-Version': '1' });
}

function versionDocument() {
  return {
    Platform: { Name: 'mayfly' },
    Components: [{ Name: 'Engine', Version: mayflyVersion(), Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: goArch(), KernelVersion: release(), Experimental: 'false' } }],
    Version: mayflyVersion(),
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: '',
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '',
  };
}

function info(call: ApiCall) {
  const { runtime, holdings, home } = call.ctx;
  const all = holdings.all();
  const count = (s: string) => all.filter((c) => c.status === s).length;
  const sandbox = runtime.info;
  const rootless = process.getuid?.() !== 0;
  const cgroupV2 = /v2/.test(sandbox.cgroups);
  return {
    ID: runtime.sandbox.id,
    Containers: all.length,
    ContainersRunning: count('running'),
    ContainersPaused: count('paused'),
    ContainersStopped: all.length - count('running') - count('paused'),
    Images: runtime.images().length,
    Driver: sandbox.rootfsDriver,
    DriverStatus: [['Rootfs driver', sandbox.rootfsDriver], ...(sandbox.rootfsReason ? [['Why', sandbox.rootfsReason]] : []), ['Start path', sandbox.startPath]],
    Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file'] },
    // what the limits of HostConfig (Memory, NanoCpus, PidsLimit) do here: the cgroup state, said as is
    MemoryLimit: /memory/.test(sandbox.cgroups),
    SwapLimit: false,
    CpuCfsPeriod: /cpu/.test(sandbox.cgroups),
    CpuCfsQuota: /cpu/.test(sandbox.cgroups),
    PidsLimit: /pids/.test(sandbox.cgroups),
    OomKillDisable: false,
    IPv4Forwarding: true,
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupV2 ? '2' : '1',
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: 'mayfly (daemonless, rootless container runtime)',
    OSVersion: '',
    OSType: 'linux',
    Architecture: arch() === 'x64' ? 'x86_64' : arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ['127.0.0.0/8'], Mirrors: [] },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: home,
    Name: hostname(),
    Labels: [`mayfly.cgroups=${sandbox.cgroups}`],
    ExperimentalBuild: false,
    ServerVersion: mayflyVersion(),
    Runtimes: { mayfly: { path: 'mayfly' } },
    DefaultRuntime: 'mayfly',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: 'tini',
    SecurityOptions: ['name=seccomp,profile=builtin', ...(rootless ? ['name=rootless'] : []), ...(sandbox.idMapping ? ['name=userns'] : [])],
    Warnings: sandbox.warnings,
  };
}

export const systemRoutes: Route[] = [
  { method: 'GET', path: '/_ping', handle: ping },
  { method: 'HEAD', path: '/_ping', handle: ping },
  { method: 'GET', path: '/version', handle: () => versionDocument() },
  { method: 'GET', path: '/info', handle: info },
];
