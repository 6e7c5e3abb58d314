/**
 * User-defined networks (`mayfly network create`), kept as small JSON records under
 * $MAYFLY_HOME/networks. A record is only a definition: each sandbox that runs a container on the
 * network makes its own bridge for it (networks live in a sandbox's user namespace), so a record
 * costs nothing until a container joins.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { readTextIfPresent } from '../core/files.js';
import { networkNameSchema } from '../model/container-spec.js';
import { parseWith } from '../core/validate.js';
import { readState, sandboxAlive, type Layout } from '../model/home.js';

export const BUILTIN_NETWORKS = ['none', 'host', 'bridge'] as const;

/** `host` and `none` as Docker lists them: built in, without a record (the default bridge has one, DEFAULT_BRIDGE) */
export const BUILTIN_NETWORK_IDS = {
  host: '6f1c9a7d2e4b8c0a5d3e1f7b9a2c4e6d8f0a1b3c5d7e9f2a4b6c8d0e1f3a5b7c',
  none: '0a2c4e6f8b1d3f5a7c9e0b2d4f6a8c1e3f5b7d9a0c2e4f6b8d1a3c5e7f9b0d2a',
} as const;
const createSchema = z.object({
  name: networkNameSchema.refine((n) => !(BUILTIN_NETWORKS as readonly string[]).includes(n), { message: 'none, host and bridge are built in; choose another name' }),
  labels: z.record(z.string(), z.string()).default({}),
  /** no outbound access: members reach each other (and are reached through published ports) only */
  internal: z.boolean().default(false),
});

export type NetworkCreateOptions = z.input<typeof createSchema>;

export interface NetworkRecord {
  id: string;
  name: string;
  /** an IPv4 /24, e.g. 10.89.3.0/24; the bridge is .1, containers get .2 to .254 */
  subnet: string;
  gateway: string;
  createdAt: string;
  labels: Record<string, string>;
  internal: boolean;
  /** the sandbox an ephemeral network belongs to: it goes when that sandbox ends */
  owner?: string;
  /** Docker's default network (`bridge`): no record on disk, and no names — its members reach each other by address only */
  builtin?: boolean;
}

/**
 * Docker's default `bridge` network, where the CLI puts a container run without --network: its
 * members reach each other (by IP: names resolve on user-defined networks only, as Docker does)
 * and the outside world. Docker's addresses, 172.17.0.x: they live in the sandbox's own network
 * namespaces, never on the host's.
 */
export const DEFAULT_BRIDGE: NetworkRecord = {
  id: 'b7e4b3c5e8f0a1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e',
  name: 'bridge',
  subnet: '172.17.0.0/24',
  gateway: '172.17.0.1',
  createdAt: '1970-01-01T00:00:00.000Z',
  labels: {},
  internal: false,
  builtin: true,
};

const SUBNET_PREFIX = '10.89';

function recordPath(l: Layout, name: string): string {
  return join(l.networks, `${name}.json`);
}

export function readNetwork(l: Layout, name: string): NetworkRecord | undefined {
  if (name === DEFAULT_BRIDGE.name) return DEFAULT_BRIDGE;
  const text = readTextIfPresent(recordPath(l, name));
  return text ? (JSON.parse(text) as NetworkRecord) : undefined;
}

export function getNetwork(l: Layout, name: string): NetworkRecord {
  const n = readNetwork(l, name);
  if (!n) {
    throw new MayflyError('NETWORK_NOT_FOUND', `network ${name} not found`, {
      hint: `create it first: mayfly network create ${name} (or Runtime.createNetwork)`,
    });
  }
  return n;
}

export function listNetworks(l: Layout): NetworkRecord[] {
  let files: string[] = [];
  try {
    files = readdirSync(l.networks).filter((f) => f.endsWith('.json'));
  } catch {
    files = [];
  }
  const records = files.map((f) => readNetwork(l, f.slice(0, -'.json'.length))).filter((n): n is NetworkRecord => n !== undefined && !n.builtin);
  return [DEFAULT_BRIDGE, ...records].sort((a, b) => a.name.localeCompare(b.name));
}

/** Creates a record with the first free /24; the exclusive create makes two concurrent creates of one name fail cleanly. */
export function createNetwork(l: Layout, input: NetworkCreateOptions, owner?: string): NetworkRecord {
  const opts = parseWith(createSchema, input, 'network options');
  sweepEphemeralNetworks(l);
  const used = new Set(listNetworks(l).map((n) => n.subnet));
  let third = 0;
  while (third < 256 && used.has(`${SUBNET_PREFIX}.${third}.0/24`)) third++;
  if (third === 256) throw new MayflyError('NETWORK_FAILED', 'all 256 network subnets are in use', { hint: 'remove networks you no longer need: mayfly network prune' });
  const record: NetworkRecord = {
    id: randomBytes(32).toString('hex'),
    name: opts.name,
    subnet: `${SUBNET_PREFIX}.${third}.0/24`,
    gateway: `${SUBNET_PREFIX}.${third}.1`,
    createdAt: new Date().toISOString(),
    labels: opts.labels,
    internal: opts.internal,
    ...(owner ? { owner } : {}),
  };
  mkdirSync(l.networks, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(recordPath(l, opts.name), JSON.stringify(record, null, 2), { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MayflyError('NETWORK_EXISTS', `network ${opts.name} already exists`, { hint: 'use it, or remove it first: mayfly network rm ' + opts.name });
    }
    throw e;
  }
  return record;
}

/** Names of the live containers attached to a network, in any sandbox of this MAYFLY_HOME. */
export function networkUsers(l: Layout, name: string): string[] {
  let ids: string[] = [];
  try {
    ids = readdirSync(l.containers);
  } catch {
    return [];
  }
  return ids
    .map((id) => readState(join(l.containers, id)))
    .filter((s) => s?.networks?.includes(name) && sandboxAlive(l, s.sandboxId))
    .map((s) => s!.name);
}

export function removeNetwork(l: Layout, name: string, opts: { force?: boolean } = {}): NetworkRecord {
  const record = getNetwork(l, name);
  if (record.builtin) throw new MayflyError('INVALID_OPTION', `${name} is a pre-defined network and cannot be removed`);
  const users = networkUsers(l, name);
  if (users.length && !opts.force) {
    throw new MayflyError('NETWORK_IN_USE', `network ${name} is in use by ${users.join(', ')}`, { hint: 'remove those containers first' });
  }
  rmSync(recordPath(l, name), { force: true });
  return record;
}

/** Removes the ephemeral networks of sandboxes that are gone (killed before they could clean up), or of `owner`. */
export function sweepEphemeralNetworks(l: Layout, owner?: string): void {
  for (const n of listNetworks(l)) {
    if (n.owner && (n.owner === owner || !sandboxAlive(l, n.owner))) rmSync(recordPath(l, n.name), { force: true });
  }
}
