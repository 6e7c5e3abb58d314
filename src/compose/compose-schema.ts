/**
 * The Compose Specification's shape, as zod schemas: every key the specification defines is known
 * here (so a typo is an error naming the key), whether mayfly honours it, ignores it with a warning
 * or refuses it (service-policy.ts decides that, with the reason). `x-` extension fields are allowed
 * in every fixed-shape mapping and dropped.
 */
import { z } from 'zod';

/** A mapping with a fixed set of keys, where `x-…` extension fields may also appear (and mean nothing to us). */
function spec<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess(dropExtensions, z.strictObject(shape));
}

function dropExtensions(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-')));
}

const str = z.string();
const num = z.number();
const strOrNum = z.union([str, num]);
const stringOrList = z.union([str, z.array(str)]);
const scalar = z.union([str, num, z.boolean(), z.null()]);
/** `KEY=VALUE` lists or `{KEY: VALUE}` maps (environment, labels, build args, sysctls, …) */
export const listOrDict = z.union([z.record(str, scalar), z.array(str)]);
/** `30s`, `1m30s`, or seconds */
const duration = strOrNum;
const anything = z.unknown();

const fileReference = spec({
  source: str,
  target: str.optional(),
  uid: strOrNum.optional(),
  gid: strOrNum.optional(),
  mode: strOrNum.optional(),
});

const build = z.union([
  str,
  spec({
    context: str.optional(),
    dockerfile: str.optional(),
    dockerfile_inline: str.optional(),
    args: listOrDict.optional(),
    target: str.min(1).optional(),
    labels: listOrDict.optional(),
    tags: z.array(str).optional(),
    no_cache: z.boolean().optional(),
    pull: z.boolean().optional(),
    cache_from: z.array(str).optional(),
    cache_to: z.array(str).optional(),
    network: str.optional(),
    shm_size: strOrNum.optional(),
    extra_hosts: anything.optional(),
    ssh: anything.optional(),
    secrets: z.array(z.union([str, spec({ source: str, target: str.optional(), uid: strOrNum.optional(), gid: strOrNum.optional(), mode: strOrNum.optional() })])).optional(),
    platforms: z.array(str).optional(),
    additional_contexts: anything.optional(),
    isolation: str.optional(),
    privileged: z.boolean().optional(),
    ulimits: anything.optional(),
    entitlements: anything.optional(),
    provenance: anything.optional(),
    sbom: anything.optional(),
  }),
]);

const dependsOn = z.union([
  z.array(str),
  z.record(
    str,
    spec({
      condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']).default('service_started'),
      /** false: the service starts even when this one is not in the project or fails */
      required: z.boolean().default(true),
      /** true: restarting that service restarts this one (`compose restart`) */
      restart: z.boolean().default(false),
    }),
  ),
]);

const port = z.union([
  str,
  num,
  spec({
    target: z.union([num, str]),
    published: strOrNum.optional(),
    host_ip: str.optional(),
    protocol: z.enum(['tcp', 'udp']).optional(),
    app_protocol: str.optional(),
    mode: z.enum(['host', 'ingress']).optional(),
    name: str.optional(),
  }),
]);

const volumeMount = z.union([
  str,
  spec({
    type: z.enum(['bind', 'volume', 'tmpfs', 'npipe', 'cluster', 'image']),
    source: str.optional(),
    target: str,
    read_only: z.boolean().optional(),
    consistency: str.optional(),
    bind: spec({ propagation: str.optional(), create_host_path: z.boolean().optional(), selinux: z.enum(['z', 'Z']).optional(), recursive: str.optional() }).optional(),
    volume: spec({ nocopy: z.boolean().optional(), subpath: str.optional() }).optional(),
    tmpfs: spec({ size: strOrNum.optional(), mode: strOrNum.optional() }).optional(),
    image: spec({ subpath: str.optional() }).optional(),
  }),
]);

const networkAttachment = z.union([
  z.null(),
  spec({
    aliases: z.array(str).optional(),
    ipv4_address: str.optional(),
    ipv6_address: str.optional(),
    link_local_ips: z.array(str).optional(),
    mac_address: str.optional(),
    driver_opts: anything.optional(),
    priority: num.optional(),
    gw_priority: num.optional(),
    interface_name: str.optional(),
  }),
]);

const hook = spec({ command: stringOrList, user: strOrNum.optional(), privileged: z.boolean().optional(), working_dir: str.optional(), environment: listOrDict.optional() });

export const serviceSchema = spec({
  image: str.optional(),
  build: build.optional(),
  command: z.union([stringOrList, z.null()]).optional(),
  entrypoint: z.union([stringOrList, z.null()]).optional(),
  environment: listOrDict.optional(),
  env_file: z.union([str, z.array(z.union([str, spec({ path: str, required: z.boolean().default(true), format: z.literal('raw').optional() })]))]).optional(),
  ports: z.array(port).optional(),
  expose: z.array(strOrNum).optional(),
  volumes: z.array(volumeMount).optional(),
  volumes_from: z.array(str).optional(),
  tmpfs: stringOrList.optional(),
  secrets: z.array(z.union([str, fileReference])).optional(),
  configs: z.array(z.union([str, fileReference])).optional(),
  depends_on: dependsOn.optional(),
  links: z.array(str).optional(),
  external_links: z.array(str).optional(),
  networks: z.union([z.array(str), z.record(str, networkAttachment)]).optional(),
  network_mode: str.optional(),
  healthcheck: spec({
    test: stringOrList.optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: num.int().min(0).optional(),
    start_period: duration.optional(),
    start_interval: duration.optional(),
    disable: z.boolean().optional(),
  }).optional(),
  working_dir: str.optional(),
  user: strOrNum.optional(),
  hostname: str.optional(),
  domainname: str.optional(),
  container_name: str.optional(),
  init: z.boolean().optional(),
  stop_signal: str.optional(),
  stop_grace_period: duration.optional(),
  labels: listOrDict.optional(),
  label_file: stringOrList.optional(),
  annotations: listOrDict.optional(),
  profiles: z.array(str).optional(),
  extends: z.union([str, spec({ service: str, file: str.optional() })]).optional(),
  attach: z.boolean().optional(),
  scale: num.int().min(0).optional(),
  platform: str.optional(),
  pull_policy: str.optional(),
  post_start: z.array(hook).optional(),
  pre_stop: z.array(hook).optional(),
  // resources
  mem_limit: strOrNum.optional(),
  mem_reservation: strOrNum.optional(),
  memswap_limit: strOrNum.optional(),
  mem_swappiness: num.optional(),
  cpus: strOrNum.optional(),
  cpu_quota: strOrNum.optional(),
  cpu_period: strOrNum.optional(),
  cpu_shares: strOrNum.optional(),
  cpu_count: strOrNum.optional(),
  cpu_percent: strOrNum.optional(),
  cpu_rt_runtime: strOrNum.optional(),
  cpu_rt_period: strOrNum.optional(),
  cpuset: str.optional(),
  pids_limit: num.int().optional(),
  shm_size: strOrNum.optional(),
  ulimits: anything.optional(),
  oom_kill_disable: z.boolean().optional(),
  oom_score_adj: num.optional(),
  blkio_config: anything.optional(),
  deploy: spec({
    mode: str.optional(),
    replicas: num.int().min(0).optional(),
    labels: listOrDict.optional(),
    resources: spec({
      limits: spec({ cpus: strOrNum.optional(), memory: strOrNum.optional(), pids: num.int().optional(), devices: anything.optional() }).optional(),
      reservations: anything.optional(),
    }).optional(),
    restart_policy: anything.optional(),
    update_config: anything.optional(),
    rollback_config: anything.optional(),
    placement: anything.optional(),
    endpoint_mode: anything.optional(),
  }).optional(),
  // isolation and privileges
  cap_add: z.array(str).optional(),
  cap_drop: z.array(str).optional(),
  privileged: z.boolean().optional(),
  security_opt: z.array(str).optional(),
  read_only: z.boolean().optional(),
  sysctls: listOrDict.optional(),
  devices: anything.optional(),
  device_cgroup_rules: anything.optional(),
  gpus: anything.optional(),
  group_add: z.array(strOrNum).optional(),
  ipc: str.optional(),
  pid: z.union([str, z.null()]).optional(),
  uts: str.optional(),
  userns_mode: str.optional(),
  cgroup: str.optional(),
  cgroup_parent: str.optional(),
  isolation: str.optional(),
  runtime: str.optional(),
  storage_opt: anything.optional(),
  credential_spec: anything.optional(),
  extra_hosts: z.union([z.array(str), z.record(str, z.union([str, z.array(str)]))]).optional(),
  dns: stringOrList.optional(),
  dns_opt: z.array(str).optional(),
  dns_search: stringOrList.optional(),
  mac_address: str.optional(),
  use_api_socket: z.boolean().optional(),
  provider: anything.optional(),
  models: anything.optional(),
  // what a long-running deployment cares about
  restart: str.optional(),
  logging: anything.optional(),
  tty: z.boolean().optional(),
  stdin_open: z.boolean().optional(),
  develop: anything.optional(),
});

const external = z.union([z.boolean(), spec({ name: str.optional() })]);

export const networkSchema = z.union([
  z.null(),
  spec({
    name: str.optional(),
    driver: str.optional(),
    driver_opts: z.record(str, strOrNum).optional(),
    attachable: z.boolean().optional(),
    enable_ipv4: z.boolean().optional(),
    enable_ipv6: z.boolean().optional(),
    ipam: anything.optional(),
    internal: z.boolean().optional(),
    labels: listOrDict.optional(),
    external: external.optional(),
  }),
]);

export const volumeSchema = z.union([
  z.null(),
  spec({
    name: str.optional(),
    driver: str.optional(),
    driver_opts: z.record(str, strOrNum).optional(),
    labels: listOrDict.optional(),
    external: external.optional(),
  }),
]);

/** Top-level `secrets` and `configs`: where the content comes from. */
const fileSource = (content: boolean) =>
  spec({
    name: str.optional(),
    file: str.optional(),
    environment: str.optional(),
    ...(content ? { content: str.optional() } : {}),
    external: external.optional(),
    driver: anything.optional(),
    driver_opts: anything.optional(),
    template_driver: anything.optional(),
    labels: listOrDict.optional(),
  });

export const secretSchema = fileSource(false);
export const configSchema = fileSource(true);

export const includeSchema = z.union([
  str,
  spec({ path: stringOrList, project_directory: str.optional(), env_file: stringOrList.optional() }),
]);

export const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export const fileSchema = spec({
  version: strOrNum.optional(),
  name: str.optional(),
  include: z.array(includeSchema).optional(),
  services: z.record(z.string().regex(SERVICE_NAME, 'service names use letters, digits, _ . -'), serviceSchema).default({}),
  networks: z.record(str, networkSchema).optional(),
  volumes: z.record(str, volumeSchema).optional(),
  secrets: z.record(str, secretSchema).optional(),
  configs: z.record(str, configSchema).optional(),
  models: anything.optional(),
});

export type ComposeService = z.output<typeof serviceSchema>;
export type ComposeFileContent = z.output<typeof fileSchema>;
export type ComposeNetwork = z.output<typeof networkSchema>;
export type ComposeVolume = z.output<typeof volumeSchema>;
export type ComposeSecret = z.output<typeof secretSchema>;
export type ComposeConfig = z.output<typeof configSchema>;
export type ListOrDict = z.output<typeof listOrDict>;
