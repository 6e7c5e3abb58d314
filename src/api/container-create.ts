/**
 * Docker's container create body (`POST /containers/create`) read into mayfly's ContainerOptions:
 * the fields the API's clients send are mapped, unknown ones ignored as Docker ignores them, and
 * the ones mayfly cannot honour refused by name (400) rather than silently dropped.
 */
import { z } from 'zod';
import type { ContainerOptions } from '../engine/runtime.js';
import { parseAddHostFlag, parseTmpfsFlag, parseVolumeFlag, anonymousVolumeName } from '../model/docker-flags.js';
import { apiError } from './route.js';

const stringOrList = z.union([z.string(), z.array(z.string())]).nullish();
const nanoseconds = z.number().int().nonnegative().nullish();

export const healthcheckSchema = z.object({
  Test: z.array(z.string()).nullish(),
  Interval: nanoseconds,
  Timeout: nanoseconds,
  Retries: z.number().int().nonnegative().nullish(),
  StartPeriod: nanoseconds,
  StartInterval: nanoseconds,
});
export type DockerHealthcheck = z.output<typeof healthcheckSchema>;

const portBinding = z.object({ HostIp: z.string().nullish(), HostPort: z.string().nullish() });

const mountSchema = z.object({
  Type: z.enum(['bind', 'volume', 'tmpfs']).or(z.string()),
  Source: z.string().nullish(),
  Target: z.string(),
  ReadOnly: z.boolean().nullish(),
  TmpfsOptions: z.object({ SizeBytes: z.number().nullish(), Mode: z.number().nullish() }).nullish(),
});

export const createBodySchema = z.object({
  Image: z.string().min(1, 'Image is required'),
  Cmd: stringOrList,
  Entrypoint: stringOrList,
  Env: z.array(z.string()).nullish(),
  ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  WorkingDir: z.string().nullish(),
  User: z.string().nullish(),
  Hostname: z.string().nullish(),
  Tty: z.boolean().nullish(),
  OpenStdin: z.boolean().nullish(),
  StopSignal: z.string().nullish(),
  StopTimeout: z.number().int().nullish(),
  Healthcheck: healthcheckSchema.nullish(),
  HostConfig: z
    .object({
      PortBindings: z.record(z.string(), z.array(portBinding).nullish()).nullish(),
      PublishAllPorts: z.boolean().nullish(),
      Binds: z.array(z.string()).nullish(),
      Mounts: z.array(mountSchema).nullish(),
      Tmpfs: z.record(z.string(), z.string()).nullish(),
      NetworkMode: z.string().nullish(),
      Memory: z.number().int().nonnegative().nullish(),
      NanoCpus: z.number().int().nonnegative().nullish(),
      PidsLimit: z.number().int().nullish(),
      AutoRemove: z.boolean().nullish(),
      Privileged: z.boolean().nullish(),
      CapAdd: z.array(z.string()).nullish(),
      CapDrop: z.array(z.string()).nullish(),
      SecurityOpt: z.array(z.string()).nullish(),
      ExtraHosts: z.array(z.string()).nullish(),
      Init: z.boolean().nullish(),
    })
    .nullish(),
  NetworkingConfig: z
    .object({ EndpointsConfig: z.record(z.string(), z.object({ Aliases: z.array(z.string()).nullish() }).nullish()).nullish() })
    .nullish(),
});
export type CreateBody = z.output<typeof createBodySchema>;

/** Docker's `["KEY=VALUE", …]` as a record (entries without `=` are left out, as Docker leaves unset ones) */
export function envRecord(list: string[] | null | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of list ?? []) {
    const i = e.indexOf('=');
    if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

const asList = (v: string | string[] | null | undefined) => (v == null ? undefined : typeof v === 'string' ? [v] : v);

/** `"8080/tcp"` → port and protocol */
function portKey(key: string): { port: number; protocol: 'tcp' | 'udp' } {
  const [p = '', proto = 'tcp'] = key.split('/');
  const port = Number(p);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || (proto !== 'tcp' && proto !== 'udp')) throw apiError(400, `invalid port "${key}": expected PORT/tcp or PORT/udp`);
  return { port, protocol: proto };
}

/** Docker's default network (`default`, `bridge`), the host's, none, or a user-defined one. */
function networkMode(mode: string | null | undefined): string {
  if (!mode || mode === 'default') return 'bridge';
  if (mode.startsWith('container:')) throw apiError(400, `NetworkMode ${mode} is not supported by mayfly: a container cannot join another's network namespace (use a user-defined network)`);
  return mode;
}

export interface CreatePlan {
  options: ContainerOptions;
  autoRemove: boolean;
  healthcheck: DockerHealthcheck | undefined;
}

export function createPlan(body: CreateBody, name: string | undefined): CreatePlan {
  const h = body.HostConfig ?? {};
  const env = envRecord(body.Env);
  const exposedPorts: number[] = [];
  for (const key of Object.keys(body.ExposedPorts ?? {})) {
    const { port, protocol } = portKey(key);
    if (protocol === 'tcp') exposedPorts.push(port);
  }
  const ports: NonNullable<ContainerOptions['ports']> = [];
  for (const [key, bindings] of Object.entries(h.PortBindings ?? {})) {
    const { port, protocol } = portKey(key);
    for (const b of bindings?.length ? bindings : [{}]) {
      const hostPort = b.HostPort ? Number(b.HostPort) : 0;
      if (!Number.isInteger(hostPort) || hostPort < 0 || hostPort > 65535) throw apiError(400, `invalid HostPort "${b.HostPort}" for ${key}`);
      // Docker's empty HostIp is every interface; mayfly publishes on loopback unless an address is named
      ports.push({ containerPort: port, hostPort, protocol, ...(b.HostIp ? { hostIp: b.HostIp } : {}) });
    }
  }
  const binds: NonNullable<ContainerOptions['binds']> = [];
  const volumes: NonNullable<ContainerOptions['volumes']> = [];
  const tmpfs: NonNullable<ContainerOptions['tmpfs']> = [];
  for (const b of h.Binds ?? []) {
    // SRC:DST[:OPTIONS], the options a comma list (ro, rw, z, Z, propagation): only ro changes anything here
    const [src = '', dst, opts] = b.split(':');
    const m = parseVolumeFlag(dst === undefined ? src : `${src}:${dst}${opts?.split(',').includes('ro') ? ':ro' : ''}`);
    if ('bind' in m) binds.push(m.bind);
    else volumes.push(m.volume);
  }
  for (const m of h.Mounts ?? []) {
    const readonly = m.ReadOnly === true;
    if (m.Type === 'bind') {
      if (!m.Source) throw apiError(400, `a bind mount at ${m.Target} needs a Source`);
      binds.push({ source: m.Source, target: m.Target, readonly });
    } else if (m.Type === 'volume') {
      volumes.push(m.Source ? { name: m.Source, target: m.Target, readonly } : { name: anonymousVolumeName(), target: m.Target, readonly, anonymous: true });
    } else if (m.Type === 'tmpfs') {
      const o = m.TmpfsOptions ?? {};
      tmpfs.push({ path: m.Target, ...(o.SizeBytes ? { size: o.SizeBytes } : {}), ...(o.Mode != null ? { mode: o.Mode } : {}) });
    } else throw apiError(400, `mount type "${m.Type}" is not supported by mayfly (bind, volume or tmpfs)`);
  }
  for (const [path, opts] of Object.entries(h.Tmpfs ?? {})) tmpfs.push(parseTmpfsFlag(opts ? `${path}:${opts}` : path));
  const network = networkMode(h.NetworkMode);
  const endpoints = Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {});
  const aliasesOf = (n: string) => endpoints.find(([k]) => k === n)?.[1]?.Aliases ?? [];
  const extraNetworks = endpoints.filter(([n]) => n !== network && n !== h.NetworkMode && n !== 'bridge').map(([n, e]) => ({ name: n, aliases: e?.Aliases ?? [] }));
  const entrypoint = asList(body.Entrypoint);
  const cmd = asList(body.Cmd);
  const opt = <K extends keyof ContainerOptions>(key: K, value: ContainerOptions[K] | null | undefined) => (value == null ? {} : { [key]: value });
  const options: ContainerOptions = {
    image: body.Image,
    pull: 'never',
    ...(cmd?.length ? { command: cmd } : {}),
    // Docker resets the image's Entrypoint with [] or [""]
    ...(entrypoint ? { entrypoint: entrypoint.filter((e, i) => !(i === 0 && e === '' && entrypoint.length === 1)) } : {}),
    env,
    ...(body.Labels ? { labels: body.Labels } : {}),
    ...opt('workingDir', body.WorkingDir || undefined),
    ...opt('user', body.User || undefined),
    ...opt('hostname', body.Hostname || undefined),
    ...opt('stopSignal', body.StopSignal || undefined),
    ...opt('stopTimeout', body.StopTimeout ?? undefined),
    tty: body.Tty === true,
    openStdin: body.OpenStdin === true,
    exposedPorts,
    ports,
    publishAll: h.PublishAllPorts === true,
    binds,
    volumes,
    tmpfs,
    network,
    ...(aliasesOf(network).length && network !== 'bridge' ? { networkAliases: aliasesOf(network) } : {}),
    ...(extraNetworks.length ? { networks: extraNetworks } : {}),
    limits: {
      ...(h.Memory ? { memory: h.Memory } : {}),
      ...(h.NanoCpus ? { cpus: h.NanoCpus / 1e9 } : {}),
      ...(h.PidsLimit && h.PidsLimit > 0 ? { pids: h.PidsLimit } : {}),
    },
    ...(h.Privileged ? { privileged: true } : {}),
    ...(h.CapAdd?.length ? { capAdd: h.CapAdd } : {}),
    ...(h.CapDrop?.length ? { capDrop: h.CapDrop } : {}),
    ...(h.SecurityOpt?.length ? { securityOpt: h.SecurityOpt } : {}),
    ...(h.ExtraHosts?.length ? { extraHosts: h.ExtraHosts.map(parseAddHostFlag) } : {}),
    ...(h.Init ? { init: true } : {}),
    ...(name ? { name: name.replace(/^\//, '') } : {}),
  };
  return { options, autoRemove: h.AutoRemove === true, healthcheck: body.Healthcheck ?? undefined };
}
