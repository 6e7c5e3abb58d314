/** `mayfly network create|ls|rm|inspect|prune`: network records need no sandbox, only the store's files. */
import { MayflyError } from '../errors.js';
import { createNetwork, getNetwork, listNetworks, networkUsers, removeNetwork } from '../network/network-store.js';
import { mayflyHome } from '../paths.js';
import { layoutOf } from '../runtime/state.js';
import { parseFlags } from './args.js';
import { printTable } from './table.js';
import { subcommandHelp } from './with-runtime.js';

const USAGE = `Usage: mayfly network COMMAND

  create [--label K=V] [--internal] NAME
                              a network whose containers reach each other by name and alias, and the
                              outside world (--internal: they do not)
  ls [-q]                     list networks
  inspect NAME...             records as JSON, with the containers attached now
  rm [-f] NAME...             remove networks (-f: even while containers are attached)
  prune                       remove every network no container is attached to
`;

export function networkCommand(argv: string[]): number {
  const [sub, ...args] = argv;
  const l = layoutOf(mayflyHome());
  switch (sub) {
    case 'create': {
      const { flags, rest } = parseFlags(args, [{ names: ['--label', '-l'], kind: 'list', key: 'label' }, { names: ['--internal'], kind: 'boolean', key: 'internal' }], 'network create');
      if (rest.length !== 1) throw new MayflyError('INVALID_OPTION', 'usage: mayfly network create [--label K=V] [--internal] NAME');
      const labels = Object.fromEntries(((flags.label as string[] | undefined) ?? []).map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
      const n = createNetwork(l, { name: rest[0]!, labels, internal: Boolean(flags.internal) });
      process.stdout.write(`${n.id}\n`);
      return 0;
    }
    case 'ls':
    case 'list': {
      const { flags } = parseFlags(args, [{ names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' }], 'network ls');
      const nets = listNetworks(l);
      if (flags.quiet) printTable(nets.map((n) => [n.name]));
      else printTable([['NETWORK ID', 'NAME', 'SUBNET', 'CREATED'], ...nets.map((n) => [n.id.slice(0, 12), n.name, n.subnet, n.createdAt])]);
      return 0;
    }
    case 'inspect': {
      if (!args.length) throw new MayflyError('INVALID_OPTION', 'usage: mayfly network inspect NAME...');
      const out = args.map((name) => ({ ...getNetwork(l, name), containers: networkUsers(l, name) }));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    case 'rm':
    case 'remove': {
      const { flags, rest } = parseFlags(args, [{ names: ['-f', '--force'], kind: 'boolean', key: 'force' }], 'network rm');
      if (!rest.length) throw new MayflyError('INVALID_OPTION', 'usage: mayfly network rm [-f] NAME...');
      for (const name of rest) {
        removeNetwork(l, name, { force: Boolean(flags.force) });
        process.stdout.write(`${name}\n`);
      }
      return 0;
    }
    case 'prune':
      for (const n of listNetworks(l)) {
        if (networkUsers(l, n.name).length) continue;
        removeNetwork(l, n.name);
        process.stdout.write(`${n.name}\n`);
      }
      return 0;
    default:
      return subcommandHelp('network', sub, USAGE);
  }
}
