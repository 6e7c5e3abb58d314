/**
 * A compose service as what mayfly runs: the container options, the files mounted into it (secrets,
 * configs), what it waits for (depends_on) and how its readiness is checked (healthcheck), the image
 * it builds, and a key that changes whenever any of it does (a changed service is recreated).
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { parseAddHostFlag } from '../model/docker-flags.js';
import type { ContainerOptions } from '../engine/runtime.js';
import type { Healthcheck } from '../harness/wait/index.js';
import type { ComposeService } from './compose-schema.js';
import { envRecord, parseDuration, readEnvFiles, splitCommand, type ComposeProject } from './compose-file.js';
import { mountedFiles, mountedFilesDigest, type MountedFile } from './mounted-files.js';
import { serviceMounts } from './service-mounts.js';
import { composeExpose, composePorts } from './service-ports.js';
import { dependenciesOf, type Dependency } from './service-selection.js';

export { volumeName } from './service-mounts.js';

export const PROJECT_LABEL = 'mayfly.compose.project';
export const SERVICE_LABEL = 'mayfly.compose.service';
/** set on containers of `compose run`: not the service's own container */
export const ONEOFF_LABEL = 'mayfly.compose.oneoff';

export interface BuildPlan {
  /** the image name: the service's `image`, else `<project>-<service>` */
  tag: string;
  /** `build.tags`: more names for it */
  tags: string[];
  context: string;
  dockerfile?: string;
  /** `dockerfile_inline` */
  dockerfileText?: string;
  target?: string;
  args: Record<string, string>;
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  /** `build.secrets`: for `RUN --mount=type=secret,id=ID`, from the top-level secrets */
  secrets: { id: string; source: { file: string } | { content: string } }[];
}

/** A healthcheck as compose gives it: any field may be left to the image's HEALTHCHECK. */
export type ServiceHealthcheck = Partial<Healthcheck> & { disabled?: boolean };

export interface ServicePlan {
  service: string;
  options: ContainerOptions;
  /** secrets and configs, bound read-only when the container is made (mounted-files.ts) */
  files: MountedFile[];
  /** bind sources made as directories when missing */
  createHostPaths: string[];
  dependsOn: Dependency[];
  healthcheck?: ServiceHealthcheck;
  build?: BuildPlan;
  /** when to pull (or build) the image before starting */
  pullPolicy: 'always' | 'never' | 'missing' | 'build';
  /** `attach: false`: its output is not shown by a foreground `up` */
  attach: boolean;
  warnings: string[];
  /** changes when anything that makes the container changes */
  key: string;
}

/** The name a top-level network has on this machine: `name:`, the external name, or `<project>_<key>`. */
export function networkName(p: ComposeProject, net: string): string {
  const def = p.content.networks?.[net];
  const ext = def?.external;
  return def?.name ?? (typeof ext === 'object' && ext.name ? ext.name : ext ? net : `${p.name}_${net}`);
}

function healthcheckOf(def: ComposeService): ServiceHealthcheck | undefined {
  const h = def.healthcheck;
  if (!h) return undefined;
  const test = h.test === undefined ? undefined : typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test;
  if (h.disable || test?.[0] === 'NONE') return { disabled: true };
  const ns = (d: string | number) => Math.round(parseDuration(d) * 1e9);
  return {
    ...(test ? { test } : {}),
    ...(h.interval !== undefined ? { interval: ns(h.interval) } : {}),
    ...(h.timeout !== undefined ? { timeout: ns(h.timeout) } : {}),
    ...(h.start_period !== undefined ? { startPeriod: ns(h.start_period) } : {}),
    ...(h.retries !== undefined ? { retries: h.retries } : {}),
  };
}

/** Aliases other services give this one with `links: [service:alias]`. */
function linkAliases(p: ComposeProject, service: string): string[] {
  return Object.values(p.content.services).flatMap((d) => (d.links ?? []).map((l) => l.split(':')).filter(([s, a]) => s === service && a && a !== service).map(([, a]) => a!));
}

function networks(p: ComposeProject, service: string, def: ComposeService): Pick<ContainerOptions, 'network' | 'networkAliases' | 'networks'> {
  if (def.network_mode === 'host' || def.network_mode === 'none') return { network: def.network_mode };
  const entries = !def.networks ? [['default', null] as const] : Array.isArray(def.networks) ? def.networks.map((n) => [n, null] as const) : Object.entries(def.networks);
  const links = linkAliases(p, service);
  const attached = entries.map(([n, att], i) => {
    if (n !== 'default' && !(n in (p.content.networks ?? {}))) {
      throw new MayflyError('INVALID_OPTION', `service ${service} joins network ${n}, which is not declared in the top-level networks`, { hint: `add it: networks: { ${n}: {} }` });
    }
    return { name: networkName(p, n), aliases: [service, ...(att?.aliases ?? []), ...links], priority: att?.priority ?? 0, gw: att?.gw_priority ?? 0, i };
  });
  // the first network carries the default route: the highest gw_priority, then priority, then as written
  attached.sort((a, b) => b.gw - a.gw || b.priority - a.priority || a.i - b.i);
  const [first, ...rest] = attached;
  return { network: first!.name, networkAliases: first!.aliases, networks: rest.map((a) => ({ name: a.name, aliases: a.aliases })) };
}

function limits(def: ComposeService): NonNullable<ContainerOptions['limits']> {
  const l = def.deploy?.resources?.limits;
  const cpus = l?.cpus ?? def.cpus ?? (def.cpu_quota !== undefined ? Number(def.cpu_quota) / Number(def.cpu_period ?? 100_000) : undefined);
  const memory = l?.memory ?? def.mem_limit;
  const pids = l?.pids ?? def.pids_limit;
  return {
    ...(memory !== undefined ? { memory } : {}),
    ...(cpus !== undefined && Number(cpus) > 0 ? { cpus: Number(cpus) } : {}),
    ...(pids !== undefined && pids > 0 ? { pids } : {}),
  };
}

function buildPlan(p: ComposeProject, service: string, def: ComposeService): BuildPlan | undefined {
  if (def.build === undefined) return undefined;
  const b = typeof def.build === 'string' ? { context: def.build } : def.build;
  const context = resolve(p.dir, b.context ?? '.');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')) {
    throw new MayflyError('INVALID_OPTION', `service ${service}: build context ${context}: remote build contexts (Git URLs) are not supported; clone it and give the directory`);
  }
  return {
    tag: def.image ?? `${p.name}-${service}`,
    tags: ('tags' in b && b.tags) || [],
    context,
    ...('dockerfile' in b && b.dockerfile ? { dockerfile: resolve(context, b.dockerfile) } : {}),
    ...('dockerfile_inline' in b && b.dockerfile_inline !== undefined ? { dockerfileText: b.dockerfile_inline } : {}),
    ...('target' in b && b.target ? { target: b.target } : {}),
    args: envRecord('args' in b ? b.args : undefined, p.vars),
    labels: envRecord('labels' in b ? b.labels : undefined, p.vars),
    noCache: ('no_cache' in b && b.no_cache) || false,
    pull: ('pull' in b && b.pull) || false,
    secrets: buildSecrets(p, service, 'secrets' in b ? b.secrets : undefined),
  };
}

/** `build.secrets: [name, {source, target}]`: the secret's id is its target, else its name. */
function buildSecrets(p: ComposeProject, service: string, refs: unknown): BuildPlan['secrets'] {
  if (refs === undefined) return [];
  if (!Array.isArray(refs)) throw new MayflyError('INVALID_OPTION', `service ${service}: build.secrets is a list of secret names or {source, target}`);
  return refs.map((ref) => {
    const r = typeof ref === 'string' ? { source: ref } : (ref as { source?: unknown; target?: unknown });
    if (typeof r.source !== 'string') throw new MayflyError('INVALID_OPTION', `service ${service}: build.secrets entries are a secret name or {source, target}`);
    const top = p.content.secrets?.[r.source];
    if (!top) throw new MayflyError('INVALID_OPTION', `service ${service}: build.secrets uses ${r.source}, which is not defined in the top-level secrets`);
    const id = typeof r.target === 'string' && r.target ? r.target : r.source;
    if (top.file !== undefined) return { id, source: { file: top.file } };
    const value = top.environment !== undefined ? p.vars[top.environment] : undefined;
    if (value === undefined) throw new MayflyError('INVALID_OPTION', `service ${service}: build secret ${r.source} comes from ${top.environment ? `the environment variable ${top.environment}, which is not set` : 'nowhere (give a file or environment)'}`);
    return { id, source: { content: value } };
  });
}

function pullPolicy(def: ComposeService, warnings: string[], service: string): ServicePlan['pullPolicy'] {
  const pp = def.pull_policy;
  if (pp === 'always' || pp === 'never' || pp === 'build') return pp;
  if (pp && pp !== 'missing' && pp !== 'if_not_present') warnings.push(`service ${service}: pull_policy ${pp} is taken as missing (mayfly does not keep the time of a pull)`);
  return 'missing';
}

function envFiles(def: ComposeService) {
  const list = def.env_file === undefined ? [] : typeof def.env_file === 'string' ? [def.env_file] : def.env_file;
  return list.map((f) => (typeof f === 'string' ? { path: f, required: true } : f));
}

function labelFiles(def: ComposeService) {
  const list = def.label_file === undefined ? [] : typeof def.label_file === 'string' ? [def.label_file] : def.label_file;
  return list.map((path) => ({ path, required: true }));
}

export function servicePlan(p: ComposeProject, service: string): ServicePlan {
  const def = p.content.services[service];
  if (!def) throw new MayflyError('INVALID_OPTION', `no service ${service} in this project (services: ${Object.keys(p.content.services).join(', ')})`);
  if (!def.image && !def.build) throw new MayflyError('INVALID_OPTION', `service ${service} needs an image or a build`);
  const warnings: string[] = [];
  const build = buildPlan(p, service, def);
  const mounts = serviceMounts(p, service, def);
  const net = networks(p, service, def);
  let ports = composePorts(service, def);
  if (net.network === 'host' && ports.length) {
    warnings.push(`service ${service}: ports are not published with network_mode host (it uses the host's ports directly)`);
    ports = [];
  }
  const pull = pullPolicy(def, warnings, service);
  const options: ContainerOptions = {
    image: build?.tag ?? def.image!,
    // an image built here is never pulled; `never` also fails early when it is missing
    pull: build ? 'never' : pull === 'build' ? 'missing' : pull,
    ...(def.command !== undefined && def.command !== null ? { command: splitCommand(def.command) } : {}),
    ...(def.entrypoint !== undefined && def.entrypoint !== null ? { entrypoint: splitCommand(def.entrypoint) } : {}),
    env: { ...readEnvFiles(p.dir, envFiles(def), p.vars), ...envRecord(def.environment, p.vars) },
    ports,
    exposedPorts: composeExpose(service, def),
    binds: mounts.binds,
    volumes: mounts.volumes,
    tmpfs: mounts.tmpfs,
    anonymousVolumes: mounts.anonymousVolumes,
    ...net,
    name: def.container_name ?? `${p.name}-${service}-1`,
    ...(def.working_dir ? { workingDir: def.working_dir } : {}),
    ...(def.user !== undefined ? { user: String(def.user) } : {}),
    ...(def.hostname ? { hostname: def.hostname } : {}),
    ...(def.init ? { init: true } : {}),
    ...(def.stop_signal ? { stopSignal: def.stop_signal } : {}),
    ...(def.stop_grace_period !== undefined ? { stopTimeout: parseDuration(def.stop_grace_period) } : {}),
    labels: { ...readEnvFiles(p.dir, labelFiles(def), p.vars), ...envRecord(def.labels, p.vars), [PROJECT_LABEL]: p.name, [SERVICE_LABEL]: service },
    limits: limits(def),
    ...(def.cap_add ? { capAdd: def.cap_add } : {}),
    ...(def.cap_drop ? { capDrop: def.cap_drop } : {}),
    ...(def.privileged ? { privileged: true } : {}),
    ...(def.security_opt ? { securityOpt: def.security_opt } : {}),
    ...(def.extra_hosts ? { extraHosts: extraHosts(service, def.extra_hosts) } : {}),
  };
  const files = mountedFiles(p, service, def);
  const healthcheck = healthcheckOf(def);
  const key = createHash('sha256')
    .update(JSON.stringify([options, mountedFilesDigest(files), build ?? null]))
    .digest('hex')
    .slice(0, 24);
  return {
    service,
    options,
    files,
    createHostPaths: mounts.createHostPaths,
    dependsOn: dependenciesOf(def),
    ...(healthcheck ? { healthcheck } : {}),
    ...(build ? { build } : {}),
    pullPolicy: pull,
    attach: def.attach ?? true,
    warnings,
    key,
  };
}

/** `extra_hosts`: `["name:ip"]` (or `name=ip`), or `{ name: ip | [ip…] }`; ip may be host-gateway. */
function extraHosts(service: string, hosts: NonNullable<ComposeService['extra_hosts']>): { name: string; ip: string }[] {
  if (!Array.isArray(hosts)) return Object.entries(hosts).flatMap(([name, ips]) => (Array.isArray(ips) ? ips : [ips]).map((ip) => ({ name, ip })));
  return hosts.map((h) => {
    try {
      return parseAddHostFlag(h);
    } catch {
      throw new MayflyError('INVALID_OPTION', `service ${service}: extra_hosts "${h}": expected NAME:IP or NAME:host-gateway`);
    }
  });
}
