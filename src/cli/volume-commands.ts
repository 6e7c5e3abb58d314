/** `mayfly volume create|ls|inspect|rm|prune`: named volumes of this MAYFLY_HOME. */
import { MayflyError } from '../errors.js';
import { mayflyHome } from '../paths.js';
import { layoutOf } from '../runtime/state.js';
import { createVolume, inspectVolume, listVolumes } from '../runtime/volumes.js';
import { parseFlags } from './args.js';
import { printTable } from './table.js';
import { subcommandHelp, withRuntime } from './with-runtime.js';

const USAGE = `Usage: mayfly volume COMMAND

  create NAME        an empty named volume (run -v NAME:/path creates one too)
  ls [-q]            list volumes
  inspect NAME...    as JSON, with the live containers using each
  rm [-f] NAME...    remove volumes and their data (-f: even while in use)
  prune              remove every volume no live container uses
`;

export async function volumeCommand(argv: string[]): Promise<number> {
  const [sub, ...args] = argv;
  const l = layoutOf(mayflyHome());
  switch (sub) {
    case 'create':
      if (args.length !== 1) throw new MayflyError('INVALID_OPTION', 'usage: mayfly volume create NAME');
      process.stdout.write(`${createVolume(l, args[0]!).name}\n`);
      return 0;
    case 'ls':
    case 'list': {
      const { flags } = parseFlags(args, [{ names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' }], 'volume ls');
      const vols = listVolumes(l);
      printTable(flags.quiet ? vols.map((v) => [v.name]) : [['VOLUME NAME', 'IN USE BY', 'MOUNTPOINT'], ...vols.map((v) => [v.name, v.usedBy.join(',') || '-', v.mountpoint])]);
      return 0;
    }
    case 'inspect':
      if (!args.length) throw new MayflyError('INVALID_OPTION', 'usage: mayfly volume inspect NAME...');
      process.stdout.write(`${JSON.stringify(args.map((n) => inspectVolume(l, n)), null, 2)}\n`);
      return 0;
    case 'rm':
    case 'remove': {
      const { flags, rest } = parseFlags(args, [{ names: ['-f', '--force'], kind: 'boolean', key: 'force' }], 'volume rm');
      if (!rest.length) throw new MayflyError('INVALID_OPTION', 'usage: mayfly volume rm [-f] NAME...');
      const removed = await withRuntime((rt) => rt.removeVolumes(rest, { force: Boolean(flags.force) }));
      for (const n of removed) process.stdout.write(`${n}\n`);
      return 0;
    }
    case 'prune': {
      const removed = await withRuntime((rt) => rt.pruneVolumes());
      for (const n of removed) process.stdout.write(`${n}\n`);
      return 0;
    }
    default:
      return subcommandHelp('volume', sub, USAGE);
  }
}
