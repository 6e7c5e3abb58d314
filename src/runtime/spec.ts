/**
 * The one description of a container that every entry point (harness, presets, CLI) ends in, and the
 * runtime starts. Validated with zod: a wrong field is reported by name before anything starts.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { MayflyError } from '../errors.js';

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
  init: z.boolean().default(false),
  limits: limitsSchema.default({}),
  stopSignal: z.string().regex(/^(SIG)?[A-Z0-9]+$/, 'a signal name like SIGTERM').default('SIGTERM'),
  /** seconds between the stop signal and SIGKILL */
  stopTimeout: z.number().min(0).default(10),
  labels: z.record(z.string(), z.string()).default({}),
  })
  .refine((s) => s.network !== 'host' || (!s.ports.length && !s.publishAll), {
    message: 'ports cannot be published with network "host": the container already uses the host ports',
    path: ['ports'],
  })
  .refine((s) => s.network !== 'host' || !s.networks.length, {
    message: 'a container on the host network cannot join other networks',
    path: ['networks'],
  })
  .refine((s) => !s.networkAliases.length || (s.network !== 'host' && s.network !== 'none'), {
    message: 'aliases need a user-defined network (network: NAME)',
    path: ['networkAliases'],
  });

export type ContainerSpecInput = z.input<typeof containerSpecSchema>;
export type ContainerSpec = z.output<typeof containerSpecSchema>;
export type TmpfsMount = z.output<typeof tmpfsSchema>;
export type BindMount = z.output<typeof bindSchema>;
export type VolumeMount = z.output<typeof volumeSchema>;
export type NetworkMode = z.output<typeof networkModeSchema>;

/** The user-defined networks a container joins, its `network` first (that one carries the default route). */
export function networkMemberships(s: Pick<ContainerSpec, 'network' | 'networkAliases' | 'networks'>): { name: string; aliases: string[] }[] {
  const primary = s.network === 'none' || s.network === 'host' ? [] : [{ name: s.network, aliases: s.networkAliases }];
  const seen = new Set<string>();
  return [...primary, ...s.networks].filter((m) => !seen.has(m.name) && seen.add(m.name));
}
export type Limits = z.output<typeof limitsSchema>;
export type PortSpec = z.output<typeof portSchema>;

/** Validates options; the error names every wrong field and what was expected. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new MayflyError('INVALID_OPTION', `invalid ${what}:\n${lines.join('\n')}`, {
    details: { issues: result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

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

/** `-p [ip:]hostPort:containerPort[/tcp|/udp]` or `-p containerPort[/tcp|/udp]` (any free host port) */
export function parsePortFlag(flag: string): z.input<typeof portSchema> {
  const [spec = '', protocol = 'tcp', ...rest] = flag.split('/');
  if ((protocol !== 'tcp' && protocol !== 'udp') || rest.length) throw new MayflyError('INVALID_OPTION', `-p ${flag}: the protocol must be tcp or udp`);
  return { ...parsePortSpec(flag, spec), protocol };
}

function parsePortSpec(flag: string, spec: string): z.input<typeof portSchema> {
  const parts = spec.includes('[') ? (/^\[([^\]]+)\]:(\d*):(\d+)$/.exec(spec)?.slice(1) ?? []) : spec.split(':');
  const num = (s: string | undefined, what: string) => {
    const n = Number(s);
    if (!s || !Number.isInteger(n)) throw new MayflyError('INVALID_OPTION', `-p ${flag}: ${what} must be a port number`);
    return n;
  };
  if (parts.length === 1) return { containerPort: num(parts[0], 'the container port') };
  if (parts.length === 2) return { hostPort: num(parts[0], 'the host port'), containerPort: num(parts[1], 'the container port') };
  if (parts.length === 3) return { hostIp: parts[0]!, hostPort: parts[1] ? num(parts[1], 'the host port') : 0, containerPort: num(parts[2], 'the container port') };
  throw new MayflyError('INVALID_OPTION', `-p ${flag}: expected [IP:]HOST:CONTAINER or CONTAINER`);
}

/** `--tmpfs /data[:size=64m,mode=1777]` */
export function parseTmpfsFlag(flag: string): z.input<typeof tmpfsSchema> {
  const [path = '', opts] = splitOnce(flag, ':');
  const out: z.input<typeof tmpfsSchema> = { path };
  for (const opt of opts ? opts.split(',') : []) {
    const [k, v = ''] = splitOnce(opt, '=');
    if (k === 'size') out.size = v;
    else if (k === 'mode') out.mode = Number.parseInt(v, 8);
    else throw new MayflyError('INVALID_OPTION', `--tmpfs ${flag}: unknown option "${k}" (known: size, mode)`);
  }
  return out;
}

/** `-v SRC:DST[:ro|rw]`: an absolute SRC is a bind mount, anything else names a volume. */
export function parseVolumeFlag(flag: string): { bind: z.input<typeof bindSchema> } | { volume: z.input<typeof volumeSchema> } {
  const parts = flag.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new MayflyError('INVALID_OPTION', `-v ${flag}: expected SOURCE:TARGET[:ro]`);
  }
  const mode = parts[2] ?? 'rw';
  if (mode !== 'ro' && mode !== 'rw') throw new MayflyError('INVALID_OPTION', `-v ${flag}: mode must be ro or rw, got "${mode}"`);
  const readonly = mode === 'ro';
  return isAbsolute(parts[0])
    ? { bind: { source: parts[0], target: parts[1], readonly } }
    : { volume: { name: parts[0], target: parts[1], readonly } };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
