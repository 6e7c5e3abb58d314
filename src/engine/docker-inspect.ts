/**
 * Docker's inspect documents (the Engine API's ContainerInspect, NetworkResource, Volume and
 * ImageInspect shapes) built from mayfly's records, for `mayfly inspect` and the Docker API to
 * serve alike. Fields mayfly has no notion of carry Docker's neutral values (empty strings, false,
 * null), so that templates written for Docker (`{{.State.Running}}`, `{{.NetworkSettings.IPAddress}}`,
 * `{{range .Mounts}}…`) read the same. Reads nothing itself: callers pass the records.
 */
import { join } from 'node:path';
import type { ContainerState } from '../model/container-state.js';
import type { PublishedPort } from '../model/container-types.js';
import { DEFAULT_BRIDGE as BRIDGE_RECORD, type NetworkRecord } from '../network/network-store.js';
import type { VolumeInfo } from '../runtime/volumes.js';
import type { ImageRecord } from '../image/store/image-store.js';
import { familiarName, parseReference } from '../image/reference.js';

const DEFAULT_BRIDGE = BRIDGE_RECORD.name;

const ZERO_TIME = '0001-01-01T00:00:00Z';

type PortMap = Record<string, { HostIp: string; HostPort: string }[] | null>;

function portMap(exposed: number[], ports: PublishedPort[], withBindings: boolean): PortMap {
  const out: PortMap = {};
  for (const p of exposed) out[`${p}/tcp`] = null;
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (out[key] ??= []).push({ HostIp: p.hostIp, HostPort: withBindings && p.hostPort === 0 ? '' : String(p.hostPort) });
  }
  return out;
}

const hexId = (id: string) => id.replace(/^sha256:/, '');

/** `docker container inspect` */
export function containerDocument(s: ContainerState, dir: string, volumeDir: (name: string) => string): Record<string, unknown> {
  const spec = s.spec;
  const running = s.status === 'running' || s.status === 'paused';
  const attachments = running ? (s.attachments ?? []) : [];
  const networkNames = spec ? (spec.network === 'none' || spec.network === 'host' ? [spec.network] : [spec.network, ...spec.networks.map((n) => n.name)]) : [];
  const aliasesOf = (name: string) => (spec?.network === name ? spec.networkAliases : (spec?.networks.find((n) => n.name === name)?.aliases ?? []));
  const networks: Record<string, unknown> = {};
  for (const name of networkNames) {
    const a = attachments.find((x) => x.network === name);
    networks[name] = {
      IPAMConfig: null,
      Links: null,
      Aliases: name === 'none' || name === 'host' || name === DEFAULT_BRIDGE ? null : [...aliasesOf(name), s.id.slice(0, 12)],
      MacAddress: '',
      NetworkID: '',
      EndpointID: a ? `${s.id.slice(0, 32)}${a.interface}` : '',
      Gateway: a?.gateway ?? '',
      IPAddress: a?.ip ?? '',
      IPPrefixLen: a ? 24 : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: a && name !== DEFAULT_BRIDGE ? [s.name, ...aliasesOf(name), s.id.slice(0, 12)] : null,
    };
  }
  const onBridge = attachments.find((a) => a.network === DEFAULT_BRIDGE);
  const binds = (spec?.binds ?? []).map((b) => `${b.source}:${b.target}${b.readonly ? ':ro' : ''}`);
  const tmpfs = Object.fromEntries((spec?.tmpfs ?? []).map((t) => [t.path, [t.size ? `size=${t.size}` : '', t.mode !== undefined ? `mode=${t.mode.toString(8)}` : ''].filter(Boolean).join(',')]));
  const exposed = spec?.exposedPorts ?? [];
  const hostname = spec?.hostname ?? (spec?.network === 'host' ? '' : s.id.slice(0, 12));
  const image = s.image;
  return {
    Id: s.id,
    Created: s.createdAt,
    Path: s.command[0] ?? '',
    Args: s.command.slice(1),
    State: {
      Status: s.status,
      Running: running,
      Paused: s.status === 'paused',
      Restarting: false,
      OOMKilled: s.oomKilled ?? false,
      Dead: false,
      Pid: running ? (s.pid ?? 0) : 0,
      ExitCode: s.exitCode ?? 0,
      Error: '',
      StartedAt: s.startedAt ?? ZERO_TIME,
      FinishedAt: s.finishedAt ?? ZERO_TIME,
    },
    Image: s.imageId ?? '',
    ResolvConfPath: join(dir, 'etc', 'resolv.conf'),
    HostnamePath: join(dir, 'etc', 'hostname'),
    HostsPath: join(dir, 'etc', 'hosts'),
    LogPath: join(dir, 'log.jsonl'),
    Name: `/${s.name}`,
    RestartCount: 0,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      Binds: binds.length ? binds : null,
      // the log is JSON lines in LogPath; docker-compose shows logs only of containers that name a driver
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: spec?.network ?? 'none',
      PortBindings: portMap([], spec?.ports.map((p) => ({ ...p })) ?? [], true),
      PublishAllPorts: spec?.publishAll ?? false,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: s.autoRemove ?? false,
      Tmpfs: Object.keys(tmpfs).length ? tmpfs : null,
      Memory: spec?.limits.memory ?? 0,
      NanoCpus: spec?.limits.cpus ? Math.round(spec.limits.cpus * 1e9) : 0,
      PidsLimit: spec?.limits.pids ?? null,
      Init: spec?.init ?? false,
      ReadonlyRootfs: false,
      Privileged: false,
    },
    GraphDriver: { Name: 'overlay', Data: { LowerDir: (spec?.layers ?? []).slice().reverse().join(':'), UpperDir: join(dir, 'upper'), WorkDir: join(dir, 'work'), MergedDir: join(dir, 'rootfs') } },
    Mounts: [
      ...(spec?.binds ?? []).map((b) => ({ Type: 'bind', Source: b.source, Destination: b.target, Mode: b.readonly ? 'ro' : '', RW: !b.readonly, Propagation: 'rprivate' })),
      ...(spec?.volumes ?? []).map((v) => ({ Type: 'volume', Name: v.name, Source: volumeDir(v.name), Destination: v.target, Driver: 'local', Mode: v.readonly ? 'ro' : 'z', RW: !v.readonly, Propagation: '' })),
      ...(spec?.tmpfs ?? []).map((t) => ({ Type: 'tmpfs', Source: '', Destination: t.path, Mode: '', RW: true, Propagation: '' })),
    ],
    Config: {
      Hostname: hostname,
      Domainname: '',
      User: spec?.user === '0:0' ? '' : (spec?.user ?? ''),
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      ExposedPorts: exposed.length ? Object.fromEntries(exposed.map((p) => [`${p}/tcp`, {}])) : null,
      Tty: spec?.tty === true,
      OpenStdin: spec?.openStdin === true,
      StdinOnce: false,
      Env: Object.entries(spec?.env ?? {}).map(([k, v]) => `${k}=${v}`),
      Cmd: s.cmd ?? (s.entrypoint ? null : s.command),
      Image: image ?? '',
      Volumes: null,
      WorkingDir: spec?.workingDir ?? '/',
      Entrypoint: s.entrypoint?.length ? s.entrypoint : null,
      Labels: Object.fromEntries(Object.entries(spec?.labels ?? {}).filter(([k]) => !k.startsWith('mayfly.'))),
      StopSignal: spec?.stopSignal ?? 'SIGTERM',
      StopTimeout: spec?.stopTimeout ?? 10,
    },
    NetworkSettings: {
      Bridge: '',
      SandboxID: '',
      SandboxKey: running ? join(dir, 'netns') : '',
      Ports: running ? portMap(exposed, s.ports ?? [], false) : {},
      // the default bridge's address, as Docker puts it here; user-defined networks' are under Networks
      Gateway: onBridge?.gateway ?? '',
      IPAddress: onBridge?.ip ?? '',
      IPPrefixLen: onBridge ? 24 : 0,
      MacAddress: '',
      Networks: networks,
    },
  };
}

/** `docker network inspect`; `members`: the containers attached now */
export function networkDocument(n: NetworkRecord, members: ContainerState[]): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const c of members) {
    const a = c.attachments?.find((x) => x.network === n.name);
    if (!a) continue;
    containers[c.id] = { Name: c.name, EndpointID: `${c.id.slice(0, 32)}${a.interface}`, MacAddress: '', IPv4Address: `${a.ip}/24`, IPv6Address: '' };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.createdAt,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: {},
    Labels: n.labels,
  };
}

/** `docker network inspect host|none`: the built-in networks have no record */
export function builtinNetworkDocument(name: 'host' | 'none', id: string): Record<string, unknown> {
  return { Name: name, Id: id, Created: ZERO_TIME, Scope: 'local', Driver: name === 'host' ? 'host' : 'null', EnableIPv6: false, IPAM: { Driver: 'default', Options: null, Config: [] }, Internal: false, Attachable: false, Ingress: false, ConfigFrom: { Network: '' }, ConfigOnly: false, Containers: {}, Options: {}, Labels: {} };
}

/** `docker volume inspect` */
export function volumeDocument(v: VolumeInfo): Record<string, unknown> {
  return { CreatedAt: v.createdAt, Driver: 'local', Labels: Object.keys(v.labels).length ? v.labels : null, Mountpoint: v.mountpoint, Name: v.name, Options: null, Scope: 'local' };
}

/** `docker image inspect` */
export function imageDocument(r: ImageRecord): Record<string, unknown> {
  const names = r.names.map((n) => familiarName(parseReference(n)));
  const c = r.config.config ?? {};
  return {
    Id: r.id,
    RepoTags: names,
    RepoDigests: r.manifestDigest ? names.map((n) => `${n.replace(/:[^:/]+$/, '')}@${r.manifestDigest}`) : [],
    Parent: '',
    Comment: '',
    Created: r.config.created ?? r.pulledAt,
    DockerVersion: '',
    Author: '',
    Config: {
      Hostname: '',
      Domainname: '',
      User: c.User ?? '',
      ExposedPorts: c.ExposedPorts ?? null,
      Env: c.Env ?? null,
      Cmd: c.Cmd ?? null,
      Volumes: c.Volumes ?? null,
      WorkingDir: c.WorkingDir ?? '',
      Entrypoint: c.Entrypoint ?? null,
      Labels: c.Labels ?? null,
      StopSignal: c.StopSignal,
      Healthcheck: c.Healthcheck,
    },
    Architecture: r.config.architecture ?? '',
    Os: r.config.os ?? '',
    Size: r.size,
    VirtualSize: r.size,
    GraphDriver: { Name: 'overlay', Data: null },
    RootFS: { Type: 'layers', Layers: r.config.rootfs.diff_ids },
    Metadata: { LastTagTime: ZERO_TIME },
    Source: r.source,
    ShortId: hexId(r.id).slice(0, 12),
  };
}
