/**
 * What mayfly does with each Compose Specification key it does not simply map: keys that only mean
 * something to a long-running deployment are accepted with one warning; keys that ask for what a
 * rootless, daemonless runtime cannot give (or this runtime cannot give yet) are refused by name,
 * with the reason — never accepted silently. One list, so the README and the refusals agree.
 */
import { MayflyError } from '../core/errors.js';
import { hostPlatform, parsePlatform, platformMatches } from '../image/registry/platform.js';
import type { ComposeNetwork, ComposeService, ComposeVolume } from './compose-schema.js';
import type { ComposeProject } from './compose-file.js';

/** Accepted, with a warning: they change nothing for containers that are thrown away. */
export const IGNORED: Record<string, string> = {
  restart: 'containers are not restarted by a daemon here',
  logging: 'output always goes to the container log (mayfly logs)',
  tty: 'compose up does not give services a terminal',
  stdin_open: 'compose up does not attach stdin',
  develop: 'compose watch is not supported',
  annotations: 'annotations are for OCI runtimes and are not kept',
  mem_reservation: 'a reservation is a scheduling hint',
  'deploy.restart_policy': 'containers are not restarted by a daemon here',
  'deploy.update_config': 'there are no rolling updates here',
  'deploy.rollback_config': 'there are no rolling updates here',
  'deploy.placement': 'there is one machine here',
  'deploy.endpoint_mode': 'services are reached by name on their networks',
  'deploy.mode': 'there is one machine here',
  'deploy.labels': 'service labels belong to a swarm',
  'deploy.resources.reservations': 'a reservation is a scheduling hint',
  'healthcheck.start_interval': 'checks run every interval during the start period too',
  'build.cache_from': 'the build cache is mayfly’s own layer cache',
  'build.cache_to': 'the build cache is mayfly’s own layer cache',
};

/** Refused whatever their value, with why. */
const REFUSED: Record<string, string> = {
  devices: 'device nodes cannot be created or handed to a container by a rootless runtime',
  device_cgroup_rules: 'device nodes cannot be created or handed to a container by a rootless runtime',
  gpus: 'GPUs cannot be handed to a rootless container',
  'deploy.resources.limits.devices': 'GPUs cannot be handed to a rootless container',
  blkio_config: 'block I/O weights and limits need the blkio/io cgroup controller, which mayfly does not drive',
  cpu_shares: 'relative CPU weights (cpu.shares) are not set by mayfly; use cpus for a hard limit',
  cpuset: 'pinning to CPUs (cpuset) is not supported by mayfly’s runtime',
  cpu_rt_runtime: 'real-time scheduling is not available to a rootless container',
  cpu_rt_period: 'real-time scheduling is not available to a rootless container',
  cpu_count: 'a Windows-only setting',
  cpu_percent: 'a Windows-only setting',
  credential_spec: 'a Windows-only setting',
  memswap_limit: 'swap limits are not set by mayfly’s runtime (only memory)',
  mem_swappiness: 'swappiness is not set by mayfly’s runtime',
  oom_kill_disable: 'disabling the OOM killer is not supported by mayfly’s runtime',
  oom_score_adj: 'OOM score adjustment is not set by mayfly’s runtime yet',
  ulimits: 'resource limits (setrlimit) are not set by mayfly’s runtime yet',
  storage_opt: 'the writable layer is an overlay upper directory, without storage options',
  cgroup_parent: 'mayfly places each container in its own cgroup under its sandbox',
  dns: 'mayfly writes /etc/resolv.conf itself; choosing DNS servers is not supported yet',
  dns_opt: 'mayfly writes /etc/resolv.conf itself; resolver options are not supported yet',
  dns_search: 'mayfly writes /etc/resolv.conf itself; search domains are not supported yet',
  domainname: 'setting the NIS domain name is not supported by mayfly’s runtime yet',
  mac_address: 'MAC addresses are assigned by mayfly’s bridges',
  group_add: 'supplementary groups beyond the user’s own (from /etc/group) are not supported by mayfly’s runtime yet',
  external_links: 'containers outside the project are reached through a shared network instead (networks: {x: {external: true}})',
  read_only: 'a read-only root filesystem is not supported by mayfly’s runtime yet',
  sysctls: 'mayfly’s runtime does not set sysctls yet (net.* ones would be allowed in the container’s own network namespace)',
  use_api_socket: 'there is no Docker API socket to hand to a container',
  provider: 'service providers are Docker Desktop extensions',
  models: 'AI models are Docker Desktop extensions',
  'build.ssh': 'SSH agent forwarding into builds is not supported',
  'build.additional_contexts': 'additional build contexts are not supported by mayfly’s builder',
  'build.extra_hosts': 'extra /etc/hosts entries are not supported by mayfly’s builder',
  'build.ulimits': 'resource limits are not set by mayfly’s builder',
  'build.entitlements': 'build entitlements are not supported',
  'build.privileged': 'privileged builds are not supported',
  'build.isolation': 'a Windows-only setting',
  'build.shm_size': 'mayfly’s builder does not size /dev/shm',
  'build.provenance': 'attestations are not made by mayfly’s builder',
  'build.sbom': 'attestations are not made by mayfly’s builder',
};

const DEFAULT_NETWORK_DRIVER = new Set(['bridge', 'default']);

export interface PolicyResult {
  warnings: string[];
  refusals: string[];
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0);
}

/** Looks a dotted key up in a service definition. */
function at(def: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), def);
}

/** The warnings and refusals of one service. */
export function checkService(name: string, def: ComposeService): PolicyResult {
  const warnings: string[] = [];
  const refusals: string[] = [];
  const refuse = (key: string, why: string) => refusals.push(`service ${name}: ${key}: ${why}`);
  for (const [key, why] of Object.entries(IGNORED)) if (present(at(def, key))) warnings.push(`service ${name}: ${key} is ignored (${why})`);
  for (const [key, why] of Object.entries(REFUSED)) {
    const v = at(def, key);
    // the defaults of boolean switches ask for nothing
    if (present(v) && v !== false) refuse(key, why);
  }
  if (def.runtime !== undefined) refuse('runtime', `${def.runtime} is not mayfly’s: mayfly runs containers itself and cannot hand them to another OCI runtime`);
  if (def.platform !== undefined && !samePlatform(def.platform)) {
    refuse('platform', `${def.platform} is not a platform mayfly runs here (it runs ${formatHost()} images)`);
  }
  const build = typeof def.build === 'object' ? def.build : undefined;
  for (const pl of build?.platforms ?? []) if (!samePlatform(pl)) refuse('build.platforms', `${pl}: mayfly builds for this machine’s platform only (${formatHost()})`);
  if (build?.network !== undefined && build.network !== 'host' && build.network !== 'default') {
    refuse('build.network', `"${build.network}": RUN steps use the host’s network (RUN --network=none in the Dockerfile takes it away)`);
  }
  if (def.isolation !== undefined && def.isolation !== 'default') refuse('isolation', `${def.isolation} is a Windows isolation mode`);
  namespaceMode(def.ipc, 'ipc', ['private', 'shareable'], refuse);
  namespaceMode(def.pid ?? undefined, 'pid', [], refuse);
  namespaceMode(def.uts, 'uts', [], refuse);
  namespaceMode(def.userns_mode, 'userns_mode', [], refuse);
  namespaceMode(def.cgroup, 'cgroup', ['private'], refuse);
  if (def.network_mode !== undefined) {
    const m = def.network_mode;
    if (m.startsWith('service:') || m.startsWith('container:')) refuse('network_mode', `"${m}": sharing another container’s network namespace is not supported by mayfly’s runtime; put both on one network and use the service name`);
    else if (m === 'bridge') refuse('network_mode', '"bridge" (Docker’s default bridge network) does not exist here yet; leave network_mode out to use the project’s default network');
    else if (m !== 'none' && m !== 'host') refuse('network_mode', `"${m}" is not a network mode (none, host, bridge, service:NAME, container:NAME)`);
    if (m === 'host' || m === 'none') {
      if (def.networks !== undefined) refuse('network_mode', `"${m}" and networks cannot be combined`);
    }
  }
  for (const opt of def.security_opt ?? []) {
    const [k = '', v = ''] = opt.split(/[=:]/, 2);
    if (k === 'no-new-privileges' && (v === '' || v === 'true')) continue; // always on here
    if ((k === 'apparmor' && v === 'unconfined') || (k === 'label' && v === 'disable')) continue; // no LSM profile is applied here
    if (k === 'seccomp' && (v === 'unconfined' || v === 'default')) continue; // the container spec takes these
    refuse('security_opt', `"${opt}" is not supported by mayfly’s runtime (known: seccomp=unconfined, seccomp=default; no-new-privileges is always on; custom seccomp profiles are not)`);
  }
  for (const kind of ['post_start', 'pre_stop'] as const) {
    for (const [i, h] of (def[kind] ?? []).entries()) if (h.privileged) refuse(`${kind}[${i}].privileged`, 'privileged lifecycle hooks are not supported by mayfly’s runtime');
  }
  const replicas = def.deploy?.replicas ?? def.scale;
  if (replicas !== undefined && replicas > 1) refuse(def.scale !== undefined ? 'scale' : 'deploy.replicas', 'mayfly runs one container per service');
  if (def.pull_policy !== undefined && !/^(always|never|missing|if_not_present|build|daily|weekly|every_.+)$/.test(def.pull_policy)) {
    refuse('pull_policy', `"${def.pull_policy}" is not one of always, never, missing, build, daily, weekly, every_<duration>`);
  }
  for (const [net, att] of Object.entries(Array.isArray(def.networks) || !def.networks ? {} : def.networks)) {
    if (!att) continue;
    for (const key of ['ipv4_address', 'ipv6_address', 'link_local_ips'] as const) {
      if (present(att[key])) refuse(`networks.${net}.${key}`, 'fixed addresses are not supported: mayfly gives each member the next free address of its network; reach services by name');
    }
    if (present(att.mac_address)) refuse(`networks.${net}.mac_address`, REFUSED.mac_address!);
    if (present(att.driver_opts)) refuse(`networks.${net}.driver_opts`, 'network driver options are not supported');
    if (present(att.interface_name)) refuse(`networks.${net}.interface_name`, 'interfaces are named eth0, eth1, … in the order of the networks');
  }
  for (const v of def.volumes ?? []) {
    if (typeof v === 'string') continue;
    if (v.type === 'npipe') refuse('volumes', `${v.target}: named pipes are a Windows feature`);
    if (v.type === 'cluster') refuse('volumes', `${v.target}: cluster volumes belong to a swarm`);
    if (v.type === 'image') refuse('volumes', `${v.target}: image mounts are not supported yet`);
    if (v.volume?.subpath) refuse('volumes', `${v.target}: volume.subpath is not supported yet`);
    if (v.bind?.propagation && !/^r?private$/.test(v.bind.propagation)) refuse('volumes', `${v.target}: bind propagation "${v.bind.propagation}" is not supported (mounts are private to the container)`);
  }
  return { warnings, refusals };
}

function namespaceMode(value: string | undefined, key: string, allowed: string[], refuse: (k: string, why: string) => void): void {
  if (value === undefined || allowed.includes(value)) return;
  if (value === 'host') refuse(key, `sharing the host’s ${key === 'userns_mode' ? 'user' : key} namespace is not possible for a rootless container`);
  else if (value.startsWith('service:') || value.startsWith('container:')) refuse(key, `"${value}": sharing another container’s namespace is not supported by mayfly’s runtime`);
  else refuse(key, `"${value}" is not supported`);
}

function samePlatform(text: string): boolean {
  try {
    const wanted = text.includes('/') ? parsePlatform(text) : { os: text, architecture: hostPlatform().architecture };
    return platformMatches(wanted, hostPlatform());
  } catch {
    return false;
  }
}

function formatHost(): string {
  const h = hostPlatform();
  return `${h.os}/${h.architecture}`;
}

/** Top-level networks: the bridge driver only; what only a swarm or a daemon's IPAM gives is refused. */
export function checkNetwork(name: string, def: ComposeNetwork): string[] {
  if (!def) return [];
  const out: string[] = [];
  if (def.driver !== undefined && !DEFAULT_NETWORK_DRIVER.has(def.driver)) out.push(`network ${name}: driver: "${def.driver}" is not supported (mayfly’s networks are bridges)`);
  if (present(def.driver_opts)) out.push(`network ${name}: driver_opts: bridge options are not supported`);
  if (present(def.ipam)) out.push(`network ${name}: ipam: mayfly gives each network a 10.89.N.0/24 of its own; subnets and gateways cannot be chosen`);
  if (def.enable_ipv6) out.push(`network ${name}: enable_ipv6: mayfly’s networks are IPv4`);
  if (def.enable_ipv4 === false) out.push(`network ${name}: enable_ipv4: mayfly’s networks are IPv4`);
  return out;
}

export function networkWarnings(name: string, def: ComposeNetwork): string[] {
  return def?.attachable ? [`network ${name}: attachable is ignored (every mayfly network can be joined)`] : [];
}

/** Top-level volumes: the local driver, without options (they would make it something else). */
export function checkVolume(name: string, def: ComposeVolume): string[] {
  if (!def) return [];
  const out: string[] = [];
  if (def.driver !== undefined && def.driver !== 'local') out.push(`volume ${name}: driver: "${def.driver}" is not supported (mayfly’s volumes are local directories)`);
  if (present(def.driver_opts)) out.push(`volume ${name}: driver_opts: volume options (NFS, tmpfs, bind devices) are not supported`);
  return out;
}

/** Throws one error listing every refusal of the services about to run (and of the project's resources). */
export function enforce(p: ComposeProject, services: string[]): string[] {
  const warnings: string[] = [];
  const refusals: string[] = [];
  for (const s of services) {
    const r = checkService(s, p.content.services[s]!);
    warnings.push(...r.warnings);
    refusals.push(...r.refusals);
  }
  for (const [n, d] of Object.entries(p.content.networks ?? {})) {
    refusals.push(...checkNetwork(n, d));
    warnings.push(...networkWarnings(n, d));
  }
  for (const [n, d] of Object.entries(p.content.volumes ?? {})) refusals.push(...checkVolume(n, d));
  for (const kind of ['secrets', 'configs'] as const) {
    for (const [n, d] of Object.entries(p.content[kind] ?? {})) {
      if (d.external) refusals.push(`${kind} ${n}: external: external ${kind} live in a swarm; give a file${kind === 'configs' ? ', content' : ''} or environment`);
      for (const key of ['driver', 'template_driver'] as const) if (present(d[key])) refusals.push(`${kind} ${n}: ${key}: ${kind} drivers belong to a swarm`);
    }
  }
  if (refusals.length) {
    throw new MayflyError('INVALID_OPTION', `cannot run this project as written:\n${refusals.map((r) => `  ${r}`).join('\n')}`, {
      hint: 'these keys ask for what mayfly’s rootless runtime does not give (see the README’s compose section); remove them, or move the services that need them into a profile',
      details: { refusals },
    });
  }
  return warnings;
}
