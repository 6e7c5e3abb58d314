/**
 * Networks as Docker names and shows them: by name, full ID or ID prefix, the built-in `host` and
 * `none` beside the records on disk (they have none), each as Docker's NetworkResource with the
 * containers attached now (in any sandbox of this home). The CLI's inspect and the Docker API share it.
 */
import { MayflyError } from '../core/errors.js';
import { listStates } from '../model/container-state.js';
import type { Layout } from '../model/layout.js';
import { BUILTIN_NETWORK_IDS, listNetworks, networkUsers, type NetworkRecord } from '../network/network-store.js';
import { builtinNetworkDocument, networkDocument } from './docker-inspect.js';

export type BuiltinNetwork = keyof typeof BUILTIN_NETWORK_IDS;

/** A network found: a record (the default bridge is one), or `host` / `none`. */
export type FoundNetwork = { kind: 'record'; record: NetworkRecord } | { kind: 'builtin'; name: BuiltinNetwork; id: string };

const BUILTINS = Object.keys(BUILTIN_NETWORK_IDS) as BuiltinNetwork[];

/** Every network, the built-in ones included, sorted by name as Docker lists them. */
export function allNetworks(l: Layout): FoundNetwork[] {
  const found: FoundNetwork[] = [...listNetworks(l).map((record) => ({ kind: 'record' as const, record })), ...BUILTINS.map((name) => ({ kind: 'builtin' as const, name, id: BUILTIN_NETWORK_IDS[name] }))];
  return found.sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

export const nameOf = (n: FoundNetwork) => (n.kind === 'record' ? n.record.name : n.name);
export const idOf = (n: FoundNetwork) => (n.kind === 'record' ? n.record.id : n.id);

/** By exact name, then exact ID, then a unique ID prefix — Docker's order. */
export function findNetwork(l: Layout, ref: string): FoundNetwork {
  const all = allNetworks(l);
  const hit = all.find((n) => nameOf(n) === ref) ?? all.find((n) => idOf(n) === ref);
  if (hit) return hit;
  const byPrefix = ref.length >= 3 ? all.filter((n) => idOf(n).startsWith(ref)) : [];
  if (byPrefix.length === 1) return byPrefix[0]!;
  if (byPrefix.length > 1) throw new MayflyError('INVALID_OPTION', `network ${ref} is ambiguous (${byPrefix.length} matches)`, { hint: 'give more of the ID, or the name' });
  throw new MayflyError('NETWORK_NOT_FOUND', `network ${ref} not found`, { hint: `create it first: mayfly network create ${ref}` });
}

/** Docker's NetworkResource, with the containers attached now. */
export function networkDocumentOf(l: Layout, n: FoundNetwork): Record<string, unknown> {
  if (n.kind === 'builtin') return builtinNetworkDocument(n.name, n.id);
  const users = new Set(networkUsers(l, n.record.name));
  return networkDocument(
    n.record,
    listStates(l).filter((s) => users.has(s.name)),
  );
}
