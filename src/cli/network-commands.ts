/** `mayfly network create|ls|inspect|rm|prune`: network records need no sandbox, only the store's files. */
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import { layoutOf } from '../model/layout.js';
import { BUILTIN_NETWORK_IDS as BUILTIN_IDS, createNetwork, listNetworks, networkUsers, removeNetwork } from '../network/network-store.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, keyValues, list, text } from './command-line/values.js';
import { renderListing } from './output/listing.js';
import { keeper, type KeeperConnection } from '../keeper/client.js';
import { findContainer } from './containers.js';

const layout = () => layoutOf(mayflyHome());

/** Docker's drivers that mayfly does not have, and why */
const OTHER_DRIVERS: Record<string, string> = {
  overlay: 'overlay networks span the hosts of a swarm; mayfly runs on one host',
  macvlan: 'macvlan gives containers addresses on the host\'s own network, which a rootless runtime cannot do',
  ipvlan: 'ipvlan shares the host\'s interface, which a rootless runtime cannot do',
  host: 'host is built in: use --network host',
  none: 'none is built in: use --network none',
};

export function networkCreate({ flags, args }: ParsedCommand): number {
  const driver = text(flags, 'driver') ?? 'bridge';
  if (driver !== 'bridge') {
    throw new MayflyError('INVALID_OPTION', `network driver "${driver}" is not supported: ${OTHER_DRIVERS[driver] ?? 'mayfly has only the bridge driver'}`, {
      hint: 'use --driver bridge (the default)',
    });
  }
  const n = createNetwork(layout(), { name: args[0]!, labels: keyValues(list(flags, 'label')), internal: bool(flags, 'internal') });
  process.stdout.write(`${n.id}\n`);
  return 0;
}

export function networkLs({ flags }: ParsedCommand): number {
  const noTrunc = bool(flags, 'no-trunc');
  const records = [
    ...listNetworks(layout()),
    ...(['host', 'none'] as const).map((name) => ({ id: BUILTIN_IDS[name], name, internal: false, labels: {}, createdAt: '', builtin: true })),
  ].sort((a, b) => a.name.localeCompare(b.name));
  const rows = records.map((n) => ({
    ID: noTrunc ? n.id : n.id.slice(0, 12),
    Name: n.name,
    Driver: n.name === 'host' ? 'host' : n.name === 'none' ? 'null' : 'bridge',
    Scope: 'local',
    IPv6: 'false',
    Internal: String(n.internal),
    Labels: Object.entries(n.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
    CreatedAt: n.createdAt,
  }));
  const columns: [string, string][] = [
    ['ID', 'NETWORK ID'],
    ['Name', 'NAME'],
    ['Driver', 'DRIVER'],
    ['Scope', 'SCOPE'],
  ];
  process.stdout.write(renderListing(rows, { columns, quietField: 'ID' }, { format: text(flags, 'format'), quiet: bool(flags, 'quiet') }));
  return 0;
}

export function networkRm({ flags, args }: ParsedCommand): number {
  for (const name of args) {
    removeNetwork(layout(), name, { force: bool(flags, 'force') });
    process.stdout.write(`${name}\n`);
  }
  return 0;
}

export function networkPrune(): number {
  const l = layout();
  for (const n of listNetworks(l)) {
    if (n.builtin || networkUsers(l, n.name).length) continue;
    removeNetwork(l, n.name);
    process.stdout.write(`${n.name}\n`);
  }
  return 0;
}

async function onContainer(ref: string, act: (k: KeeperConnection, id: string) => Promise<unknown>): Promise<number> {
  const c = findContainer(ref);
  await act(await keeper(), c.id);
  return 0;
}

/** `mayfly network connect [--alias A] NETWORK CONTAINER`: at once if it runs, at its next start otherwise. */
export const networkConnect = ({ flags, args }: ParsedCommand) =>
  onContainer(args[1]!, (k, id) => k.request({ op: 'connect', container: id, network: args[0]!, aliases: list(flags, 'alias') }));

/** `mayfly network disconnect NETWORK CONTAINER` */
export const networkDisconnect = ({ flags, args }: ParsedCommand) =>
  onContainer(args[1]!, (k, id) => k.request({ op: 'disconnect', container: id, network: args[0]!, force: bool(flags, 'force') }));
