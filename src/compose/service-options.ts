/** A compose service as mayfly's container options, plus what readiness needs (its healthcheck). */
import { createHash } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { MayflyError } from '../errors.js';
import type { Healthcheck } from '../harness/wait/index.js';
import type { ContainerOptions } from '../runtime/runtime.js';
import { parsePortFlag, parseTmpfsFlag } from '../runtime/spec.js';
import { envRecord, parseDuration, readEnvFiles, splitCommand, type ComposeProject, type ComposeService } from './compose-file.js';

export const PROJECT_LABEL = 'mayfly.compose.project';
export const SERVICE_LABEL = 'mayfly.compose.service';

export interface ServicePlan {
  service: string;
  options: ContainerOptions;
  /** what `depends_on` waits for: started, healthy, or finished with 0 */
  dependsOn: { service: string; condition: 'service_started' | 'service_healthy' | 'service_completed_successfully' }[];
  healthcheck?: Healthcheck;
  /** `${project}-${service}` when built here */
  builtImage?: { tag: string; context: string; dockerfile?: string; args: Record<string, string> };
  /** changes when anything that makes the container changes: a different one is recreated */
  key: string;
}

export function networkName(p: ComposeProject, net: string): string {
  const def = p.content.networks?.[net];
  return def?.name ?? (def?.external ? net : `${p.name}_${net}`);
}

export function volumeName(p: ComposeProject, vol: string): string {
  const def = p.content.volumes?.[vol];
  return def?.name ?? (def?.external ? vol : `${p.name}_${vol}`);
}

function healthcheckOf(def: ComposeService): Healthcheck | undefined {
  const h = def.healthcheck;
  if (!h || h.disable || !h.test) return undefined;
  const test = typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test;
  const ns = (d: string | number | undefined) => (d === undefined ? undefined : Math.round(parseDuration(d) * 1e9));
  return {
    test,
    ...(h.interval !== undefined ? { interval: ns(h.interval)! } : {}),
    ...(h.timeout !== undefined ? { timeout: ns(h.timeout)! } : {}),
    ...(h.start_period !== undefined ? { startPeriod: ns(h.start_period)! } : {}),
    ...(h.retries !== undefined ? { retries: h.retries } : {}),
  };
}

function ports(def: ComposeService): NonNullable<ContainerOptions['ports']> {
  return (def.ports ?? []).map((p) => {
    if (typeof p === 'number') return { containerPort: p };
    if (typeof p === 'string') return parsePortFlag(p);
    return { containerPort: p.target, hostPort: p.published === undefined ? 0 : Number(p.published), ...(p.host_ip ? { hostIp: p.host_ip } : {}) };
  });
}

function mounts(p: ComposeProject, service: string, def: ComposeService): Pick<ContainerOptions, 'binds' | 'volumes' | 'tmpfs'> {
  const binds: NonNullable<ContainerOptions['binds']> = [];
  const volumes: NonNullable<ContainerOptions['volumes']> = [];
  const tmpfs: NonNullable<ContainerOptions['tmpfs']> = [];
  const hostPath = (src: string) => (isAbsolute(src) ? src : resolve(p.dir, src));
  for (const v of def.volumes ?? []) {
    if (typeof v !== 'string') {
      if (v.type === 'tmpfs') tmpfs.push({ path: v.target });
      else if (v.type === 'bind') binds.push({ source: hostPath(v.source ?? ''), target: v.target, readonly: v.read_only ?? false });
      else if (v.source) volumes.push({ name: volumeName(p, v.source), target: v.target, readonly: v.read_only ?? false });
      else tmpfs.push({ path: v.target });
      continue;
    }
    const parts = v.split(':');
    if (parts.length === 1) {
      tmpfs.push({ path: parts[0]! }); // an anonymous volume: throwaway data, kept in memory
      continue;
    }
    const [src, target, mode = 'rw'] = parts as [string, string, string?];
    if (mode !== 'ro' && mode !== 'rw') throw new MayflyError('INVALID_OPTION', `service ${service}: volume "${v}": mode must be ro or rw`);
    const readonly = mode === 'ro';
    if (src.startsWith('.') || src.startsWith('/') || src.startsWith('~')) binds.push({ source: hostPath(src.replace(/^~/, process.env.HOME ?? '~')), target, readonly });
    else volumes.push({ name: volumeName(p, src), target, readonly });
  }
  const t = def.tmpfs;
  for (const spec of typeof t === 'string' ? [t] : (t ?? [])) tmpfs.push(parseTmpfsFlag(spec));
  return { binds, volumes, tmpfs };
}

function networks(p: ComposeProject, service: string, def: ComposeService): Pick<ContainerOptions, 'network' | 'networkAliases' | 'networks'> {
  const entries: [string, string[]][] = !def.networks
    ? [['default', []]]
    : Array.isArray(def.networks)
      ? def.networks.map((n) => [n, []])
      : Object.entries(def.networks).map(([n, v]) => [n, v?.aliases ?? []]);
  const [first, ...rest] = entries.map(([n, aliases]) => ({ name: networkName(p, n), aliases: [service, ...aliases] }));
  return { network: first!.name, networkAliases: first!.aliases, networks: rest };
}

export function servicePlan(p: ComposeProject, service: string): ServicePlan {
  const def = p.content.services[service]!;
  const build = def.build === undefined ? undefined : typeof def.build === 'string' ? { context: def.build } : def.build;
  const builtImage = build
    ? {
        tag: `${p.name}-${service}`,
        context: resolve(p.dir, build.context ?? '.'),
        ...('dockerfile' in build && build.dockerfile ? { dockerfile: resolve(p.dir, build.context ?? '.', build.dockerfile) } : {}),
        args: envRecord('args' in build ? build.args : undefined),
      }
    : undefined;
  const env = { ...readEnvFiles(p.dir, def.env_file), ...envRecord(def.environment) };
  const options: ContainerOptions = {
    image: def.image ?? builtImage!.tag,
    ...(builtImage ? { pull: 'never' as const } : {}),
    ...(def.command !== undefined ? { command: splitCommand(def.command) } : {}),
    ...(def.entrypoint !== undefined ? { entrypoint: splitCommand(def.entrypoint) } : {}),
    env,
    ports: ports(def),
    exposedPorts: (def.expose ?? []).map((e) => Number(String(e).replace(/\/tcp$/, ''))),
    ...mounts(p, service, def),
    ...networks(p, service, def),
    name: def.container_name ?? `${p.name}-${service}-1`,
    ...(def.working_dir ? { workingDir: def.working_dir } : {}),
    ...(def.user !== undefined ? { user: String(def.user) } : {}),
    ...(def.hostname ? { hostname: def.hostname } : {}),
    ...(def.init ? { init: true } : {}),
    ...(def.stop_signal ? { stopSignal: def.stop_signal } : {}),
    ...(def.stop_grace_period !== undefined ? { stopTimeout: parseDuration(def.stop_grace_period) } : {}),
    labels: { ...envRecord(def.labels), [PROJECT_LABEL]: p.name, [SERVICE_LABEL]: service },
    limits: {
      ...(def.mem_limit !== undefined ? { memory: def.mem_limit } : {}),
      ...(def.cpus !== undefined ? { cpus: Number(def.cpus) } : {}),
      ...(def.pids_limit !== undefined ? { pids: def.pids_limit } : {}),
    },
  };
  const dependsOn = Array.isArray(def.depends_on)
    ? def.depends_on.map((s) => ({ service: s, condition: 'service_started' as const }))
    : Object.entries(def.depends_on ?? {}).map(([s, v]) => ({ service: s, condition: v.condition }));
  const healthcheck = healthcheckOf(def);
  const key = createHash('sha256').update(JSON.stringify([options, builtImage ?? null])).digest('hex').slice(0, 24);
  return { service, options, dependsOn, ...(healthcheck ? { healthcheck } : {}), ...(builtImage ? { builtImage } : {}), key };
}
