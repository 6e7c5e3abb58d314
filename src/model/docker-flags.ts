/** Docker's command-line syntax for ports, tmpfs and volumes, read into the container spec's input shapes. */
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import type { bindSchema, portSchema, tmpfsSchema, volumeSchema } from './container-spec.js';

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

/** what every tmpfs of a container is anyway: saying it changes nothing */
export const ALWAYS_TMPFS_OPTIONS = ['rw', 'nosuid', 'nodev'];

/** `--tmpfs /data[:size=64m,mode=1777,noexec]` */
export function parseTmpfsFlag(flag: string): z.input<typeof tmpfsSchema> {
  const [path = '', opts] = splitOnce(flag, ':');
  const out: z.input<typeof tmpfsSchema> = { path };
  for (const opt of opts ? opts.split(',') : []) {
    const [k, v = ''] = splitOnce(opt, '=');
    if (k === 'size') out.size = v;
    else if (k === 'mode') out.mode = Number.parseInt(v, 8);
    else if (k === 'noexec') out.noexec = true;
    else if (k === 'exec') out.noexec = false;
    else if (!ALWAYS_TMPFS_OPTIONS.includes(k!)) throw new MayflyError('INVALID_OPTION', `--tmpfs ${flag}: unknown option "${k}" (known: size, mode, noexec, exec; rw, nosuid, nodev always apply)`);
  }
  return out;
}

/** A name for an anonymous volume: 64 hex digits, as Docker makes them. */
export function anonymousVolumeName(): string {
  return randomBytes(32).toString('hex');
}

export type MountFlag = { bind: z.input<typeof bindSchema> } | { volume: z.input<typeof volumeSchema> } | { tmpfs: z.input<typeof tmpfsSchema> };

/** `-v SRC:DST[:ro|rw]`: an absolute SRC is a bind mount, anything else names a volume; `-v /path` alone is an anonymous volume. */
export function parseVolumeFlag(flag: string): { bind: z.input<typeof bindSchema> } | { volume: z.input<typeof volumeSchema> } {
  const parts = flag.split(':');
  if (parts.length === 1 && isAbsolute(flag)) return { volume: { name: anonymousVolumeName(), target: flag, readonly: false, anonymous: true } };
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1]) {
    throw new MayflyError('INVALID_OPTION', `invalid value "${flag}" for -v, --volume: expected SOURCE:TARGET[:ro] (or /PATH for an anonymous volume)`);
  }
  const mode = parts[2] ?? 'rw';
  if (mode !== 'ro' && mode !== 'rw') throw new MayflyError('INVALID_OPTION', `-v ${flag}: mode must be ro or rw, got "${mode}"`);
  const readonly = mode === 'ro';
  return isAbsolute(parts[0])
    ? { bind: { source: parts[0], target: parts[1], readonly } }
    : { volume: { name: parts[0], target: parts[1], readonly } };
}

const MOUNT_KEYS = ['type', 'source', 'src', 'target', 'dst', 'destination', 'readonly', 'ro', 'tmpfs-size', 'tmpfs-mode'];
const TRUE = ['', 'true', '1'];
const FALSE = ['false', '0'];

/**
 * `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]` (src, dst and destination too;
 * `tmpfs-size`, `tmpfs-mode`). A volume without a source is anonymous; a named one is created on
 * first use. A relative bind source is taken from the current directory.
 */
export function parseMountFlag(flag: string, cwd = process.cwd()): MountFlag {
  const bad = (why: string) => new MayflyError('INVALID_OPTION', `invalid value "${flag}" for --mount: ${why}`);
  const fields = new Map<string, string>();
  for (const part of flag.split(',')) {
    const [k = '', v] = splitOnce(part.trim(), '=');
    const key = k.toLowerCase();
    if (!MOUNT_KEYS.includes(key)) throw bad(`unknown key "${k}" (known: type, source|src, target|dst|destination, readonly|ro, tmpfs-size, tmpfs-mode)`);
    fields.set(key === 'src' ? 'source' : key === 'dst' || key === 'destination' ? 'target' : key === 'ro' ? 'readonly' : key, v ?? '');
  }
  const type = fields.get('type') ?? 'volume';
  const source = fields.get('source');
  const target = fields.get('target');
  const ro = fields.get('readonly');
  if (ro !== undefined && !TRUE.includes(ro.toLowerCase()) && !FALSE.includes(ro.toLowerCase())) throw bad(`readonly must be true or false, got "${ro}"`);
  const readonly = ro !== undefined && TRUE.includes(ro.toLowerCase());
  if (!target) throw bad('a target is needed (target=, dst= or destination=)');
  if (type === 'bind') {
    if (!source) throw bad('a bind mount needs a source (source= or src=)');
    return { bind: { source: resolvePath(cwd, source), target, readonly } };
  }
  if (type === 'volume') {
    return { volume: source ? { name: source, target, readonly } : { name: anonymousVolumeName(), target, readonly, anonymous: true } };
  }
  if (type === 'tmpfs') {
    if (source) throw bad('a tmpfs mount has no source');
    const size = fields.get('tmpfs-size');
    const mode = fields.get('tmpfs-mode');
    if (mode !== undefined && !/^[0-7]{3,4}$/.test(mode)) throw bad(`tmpfs-mode must be octal, like 1777, got "${mode}"`);
    return { tmpfs: { path: target, ...(size ? { size } : {}), ...(mode !== undefined ? { mode: Number.parseInt(mode, 8) } : {}) } };
  }
  throw bad(`type "${type}" is not supported (bind, volume or tmpfs)`);
}

/** `--add-host NAME:IP` (or `NAME=IP`); IP may be `host-gateway`. An IPv6 address follows the first separator whole. */
export function parseAddHostFlag(flag: string): { name: string; ip: string } {
  const m = /^([^:=]+)[:=](.+)$/.exec(flag.trim());
  if (!m) throw new MayflyError('INVALID_OPTION', `--add-host ${flag}: expected NAME:IP or NAME:host-gateway`);
  return { name: m[1]!, ip: m[2]!.replace(/^\[(.*)\]$/, '$1') };
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}
