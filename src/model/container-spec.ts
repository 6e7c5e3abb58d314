/**
 * The one description of a container that every entry point (harness, presets, CLI) ends in, and the
 * runtime starts. Validated with zod: a wrong field is reported by name before anything starts.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseWith } from '../core/validate.js';
import { normalizeCapability } from './capabilities.js';

const absolutePath = (what: string) =>
  z.string().refine((p) => isAbsolute(p), { message: `${what} must be an absolute path` });

const sizeString = z
  .union([z.number().int().positive(), z.string()])
  .transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const bytes = parseSize(v);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 64m, 1g or 1048576, got "${v}"` });
      return z.NEVER;
    }
    return bytes;
  });

export const tmpfsSchema = z.object({
  path: absolutePath('tmpfs path'),
  /** bytes; the kernel default (half of RAM) when absent */
  size: sizeString.optional(),
  mode: z.number().int().min(0).max(0o7777).optional(),
  /**
   * a directory whose contents the tmpfs starts with (an initialised-data snapshot): the lower layer
   * of an overlay whose writes go to a tmpfs; the directory is only read, and must not change while
   * the container lives
   */
  from: absolutePath('tmpfs from').optional(),
  /** no programs run from it (`noexec`); it is always nosuid and nodev */
  noexec: z.boolean().optional(),
});

export const bindSchema = z.object({
  source: absolutePath('bind source'),
  target: absolutePath('bind target'),
  readonly: z.boolean().default(false),
});

export const volumeSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'volume names use letters, digits, _ . -'),
  target: absolutePath('volume target'),
  readonly: z.boolean().default(false),
  /** made for this container (`-v /path`, `--mount type=volume` without a source): `rm -v` and `--rm` remove it */
  anonymous: z.boolean().default(false),
});

export const limitsSchema = z.object({
  memory: sizeString.optional(),
  cpus: z.number().positive().max(1024).optional(),
  pids: z.number().int().positive().optional(),
});

export const networkNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'network names use letters, digits, _ . - and at most 63 characters');

const aliasSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'aliases are host names: letters, digits, _ . -');

/** `none` (own namespace, loopback only), `host` (the host's network), or a network made with createNetwork */
export const networkModeSchema = z.union([z.literal('none'), z.literal('host'), networkNameSchema]);

export const networkAttachmentSchema = z.object({
  name: networkNameSchema.refine((n) => n !== 'none' && n !== 'host', { message: 'none and host cannot be joined as extra networks' }),
  aliases: z.array(aliasSchema).default([]),
});

export const portSchema = z.object({
  containerPort: z.number().int().min(1).max(65535),
  /** 0 (default): a free port picked when the listener binds */
  hostPort: z.number().int().min(0).max(65535).default(0),
  hostIp: z.ipv4().or(z.ipv6()).default('127.0.0.1'),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

const capabilityName = z.string().refine((c) => normalizeCapability(c) !== undefined, {
  error: (i) => `unknown capability "${String(i.input)}": use a name such as NET_ADMIN or CAP_SYS_PTRACE, or ALL`,
});

/** Docker's `--security-opt` values mayfly understands (`key=value`; the old `key:value` too). */
export const securityOptSchema = z.string().refine((o) => parseSecurityOpt(o) !== undefined, {
  error: (i) => `unsupported security option "${String(i.input)}": mayfly knows seccomp=unconfined, seccomp=default, no-new-privileges (always on), apparmor=unconfined and label=disable (no LSM profile is applied)`,
});

export type SecurityOpt = { seccomp: 'default' | 'unconfined' } | { noNewPrivileges: true } | { noLsmProfile: true };

export function parseSecurityOpt(opt: string): SecurityOpt | undefined {
  const m = /^([a-z-]+)(?:[=:](.*))?$/.exec(opt.trim());
  if (!m) return undefined;
  const [, key, value] = m;
  if (key === 'seccomp' && (value === 'unconfined' || value === 'default')) return { seccomp: value };
  // no_new_privs is always set: asking for it is fine, turning it off is not offered
  if (key === 'no-new-privileges' && (value === undefined || value === 'true')) return { noNewPrivileges: true };
  // no AppArmor or SELinux profile is applied here: turning one off is already the case
  if ((key === 'apparmor' && value === 'unconfined') || (key === 'label' && value === 'disable')) return { noLsmProfile: true };
  return undefined;
}

/** `host-gateway` is the host as the container reaches it (`--add-host NAME:host-gateway`): its loopback, through slirp4netns. */
export const HOST_GATEWAY_NAME = 'host-gateway';

export const extraHostSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/, 'host names use letters, digits, . and -'),
  ip: z.union([z.ipv4(), z.ipv6(), z.literal(HOST_GATEWAY_NAME)], { error: 'expected an IP address or host-gateway' }),
});

export const containerSpecSchema = z
  .object({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'names use letters, digits, _ . - and at most 63 characters')
    .optional(),
  /** read-only layer directories, bottom layer first */
  layers: z.array(absolutePath('layer directory')).min(1, 'a container needs at least one layer (or --rootfs)'),
  command: z.array(z.string()).min(1, 'a container needs a command to run'),
  env: z.record(z.string(), z.string()).default({}),
  workingDir: absolutePath('working directory').default('/'),
  user: z.string().min(1).default('0:0'),
  hostname: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, 'not a valid host name').optional(),
  network: networkModeSchema.default('none'),
  /** more names for the container on `network` (`--network-alias`) */
  networkAliases: z.array(aliasSchema).default([]),
  /** further user-defined networks to join (`docker network connect`) */
  networks: z.array(networkAttachmentSchema).default([]),
  /** container ports to publish on the host (`-p`) */
  ports: z.array(portSchema).default([]),
  /** container ports the image or caller declares (EXPOSE); `publishAll` publishes them (`-P`) */
  exposedPorts: z.array(z.number().int().min(1).max(65535)).default([]),
  publishAll: z.boolean().default(false),
  tmpfs: z.array(tmpfsSchema).default([]),
  binds: z.array(bindSchema).default([]),
  volumes: z.array(volumeSchema).default([]),
  /** the image's VOLUMEs: each a directory of the container's own, filled from the image, removed with the container */
  anonymousVolumes: z.array(absolutePath('anonymous volume path')).default([]),
  init: z.boolean().default(false),
  /** keep stdin open and stream it in (`-i`): a pipe instead of /dev/null */
  openStdin: z.boolean().default(false),
  /** a pseudo-terminal from the container's own devpts as fds 0-2 and controlling terminal (`-t`) */
  tty: z.boolean().default(false),
  limits: limitsSchema.default({}),
  stopSignal: z.string().regex(/^(SIG)?[A-Z0-9]+$/, 'a signal name like SIGTERM').default('SIGTERM'),
  /** seconds between the stop signal and SIGKILL */
  stopTimeout: z.number().min(0).default(10),
  labels: z.record(z.string(), z.string()).default({}),
  /** every capability, no seccomp filter, no masked or read-only paths (`--privileged`) */
  privileged: z.boolean().default(false),
  /** capabilities beyond Docker's default 14, or ALL (`--cap-add`) */
  capAdd: z.array(capabilityName).default([]),
  /** capabilities taken from the default set, or ALL (`--cap-drop`) */
  capDrop: z.array(capabilityName).default([]),
  /** `seccomp=unconfined` turns the default seccomp filter off (`--security-opt`) */
  securityOpt: z.array(securityOptSchema).default([]),
  /** more /etc/hosts entries; ip `host-gateway` makes the host's loopback reachable by that name (`--add-host`) */
  extraHosts: z.array(extraHostSchema).default([]),
  /** host loopback ports (and only those) the container reaches as host.mayfly.internal (Testcontainers' exposeHostPorts) */
  exposedHostPorts: z.array(z.number().int().min(1).max(65535)).default([]),
  })
  .refine((s) => s.network !== 'host' || (!s.ports.length && !s.publishAll), {
    message: 'ports cannot be published with network "host": the container already uses the host ports',
    path: ['ports'],
  })
  .refine((s) => s.network !== 'host' || !s.networks.length, {
    message: 'a container on the host network cannot join other networks',
    path: ['networks'],
  })
  .refine((s) => !s.networkAliases.length || (s.network !== 'host' && s.network !== 'none' && s.network !== 'bridge'), {
    message: "aliases need a user-defined network (network: NAME); none, host and Docker's default bridge have no names",
    path: ['networkAliases'],
  })
  .refine((s) => !s.extraHosts.some((h) => h.ip === HOST_GATEWAY_NAME) || s.network !== 'none' || s.networks.length > 0, {
    message: 'host-gateway needs a network with outbound access (network: NAME, or host); on network none, reach single host ports with exposedHostPorts',
    path: ['extraHosts'],
  });

export type ContainerSpecInput = z.input<typeof containerSpecSchema>;
export type ContainerSpec = z.output<typeof containerSpecSchema>;
export type TmpfsMount = z.output<typeof tmpfsSchema>;
export type BindMount = z.output<typeof bindSchema>;
export type VolumeMount = z.output<typeof volumeSchema>;
export type NetworkMode = z.output<typeof networkModeSchema>;
export type ExtraHost = z.output<typeof extraHostSchema>;

/** Whether the default seccomp filter applies: not for privileged containers or `seccomp=unconfined`. */
export function seccompConfined(s: Pick<ContainerSpec, 'privileged' | 'securityOpt'>): boolean {
  if (s.privileged) return false;
  const last = s.securityOpt.map(parseSecurityOpt).filter((o) => o && 'seccomp' in o).at(-1) as { seccomp: string } | undefined;
  return last?.seccomp !== 'unconfined';
}

/** The user-defined networks a container joins, its `network` first (that one carries the default route). */
export function networkMemberships(s: Pick<ContainerSpec, 'network' | 'networkAliases' | 'networks'>): { name: string; aliases: string[] }[] {
  const primary = s.network === 'none' || s.network === 'host' ? [] : [{ name: s.network, aliases: s.networkAliases }];
  const seen = new Set<string>();
  return [...primary, ...s.networks].filter((m) => !seen.has(m.name) && seen.add(m.name));
}
export type Limits = z.output<typeof limitsSchema>;
export type PortSpec = z.output<typeof portSchema>;

export function parseContainerSpec(input: ContainerSpecInput): ContainerSpec {
  return parseWith(containerSpecSchema, input, 'container options');
}

const units: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Docker-style sizes: `64m`, `1g`, `512k`, `1048576`, `1.5g`. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.floor(Number(m[1]) * units[m[2]!.toLowerCase()]!);
  return bytes > 0 ? bytes : undefined;
}
