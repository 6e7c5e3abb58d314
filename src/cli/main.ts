/** The `mayfly` command line. */
import { readFileSync } from 'node:fs';
import { isMayflyError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { doctorCommand } from './doctor-command.js';
import { buildCommand, importCommand } from './build-command.js';
import { imagesCommand, pullCommand } from './image-commands.js';
import {
  historyCommand,
  imagePruneCommand,
  inspectCommand,
  loadCommand,
  loginCommand,
  pushCommand,
  rmiCommand,
  saveCommand,
  tagCommand,
} from './image-store-commands.js';
import { networkCommand } from './network-commands.js';
import { volumeCommand } from './volume-commands.js';
import { composeCommand } from './compose-command.js';
import { execCommand, lifecycleCommand, logsCommand, portCommand, psCommand, statsCommand } from './detached-commands.js';
import { runCommand } from './run-command.js';

const USAGE = `Usage: mayfly COMMAND [ARGS]

Throwaway containers without a daemon and without root.

Commands:
  run       run a command in a new container (mayfly run --help); -d keeps it running in the background
  ps        list the containers started with -d (-a: stopped ones too, -q: IDs only)
  stop, start, restart, pause, unpause, kill, rm [-f]
            drive containers started with -d, by name or ID
  logs      a container's output (-f: follow, -t: timestamps, --tail N)
  exec      run a command in a running container: mayfly exec CONTAINER COMMAND [ARG...]
  port      a container's published ports: mayfly port CONTAINER [PORT]
  pull      pull an image into the local store, with progress
  build     build an image from a Dockerfile (-t NAME, -f FILE, --build-arg K=V), with a layer cache
  import    make an image of a root filesystem directory: mayfly import DIR NAME
  images    list the images in the store
  tag       give an image another name: mayfly tag SOURCE TARGET
  rmi       remove images (-f: even when a container uses them)
  image     image prune: delete layers and blobs no image or container uses
  inspect   an image's record and config, as JSON
  history   the steps an image was made of
  login     store credentials for a registry, once it accepts them (-u USER --password-stdin REGISTRY)
  push      push an image to the registry its name names
  save      write images to an OCI archive: mayfly save -o FILE IMAGE...
  load      load images from an OCI archive: mayfly load -i FILE
  stats     CPU, memory and process counts of containers started with -d
  compose   a compose file's services: up [-d], down [-v], ps, logs [-f], config
  network   user-defined networks: create, ls, inspect, rm, prune
  volume    named volumes: create, ls, inspect, rm, prune
  doctor    report what this machine offers a rootless runtime, and what to install
  version   print the version
`;

/** Docker's convention: 125 when mayfly itself fails, 126/127 when the command cannot run. */
export function exitCodeFor(e: unknown): number {
  if (isMayflyError(e, 'COMMAND_NOT_FOUND')) return 127;
  if (isMayflyError(e, 'COMMAND_NOT_EXECUTABLE')) return 126;
  return 125;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'doctor':
      return doctorCommand(rest);
    case 'pull':
      return pullCommand(rest);
    case 'build':
      return buildCommand(rest);
    case 'import':
      return importCommand(rest);
    case 'images':
      return imagesCommand(rest);
    case 'tag':
      return tagCommand(rest);
    case 'rmi':
      return rmiCommand(rest);
    case 'inspect':
      return inspectCommand(rest);
    case 'history':
      return historyCommand(rest);
    case 'login':
      return loginCommand(rest);
    case 'push':
      return pushCommand(rest);
    case 'save':
      return saveCommand(rest);
    case 'load':
      return loadCommand(rest);
    case 'network':
      return networkCommand(rest);
    case 'volume':
      return volumeCommand(rest);
    case 'compose':
      return composeCommand(rest);
    case 'stats':
      return statsCommand(rest);
    case 'ps':
      return psCommand(rest);
    case 'stop':
    case 'start':
    case 'restart':
    case 'pause':
    case 'unpause':
    case 'kill':
    case 'rm':
      return lifecycleCommand(command, rest);
    case 'logs':
      return logsCommand(rest);
    case 'exec':
      return execCommand(rest);
    case 'port':
      return portCommand(rest);
    case 'image': {
      const [sub, ...args] = rest;
      const commands: Record<string, (a: string[]) => number | Promise<number>> = {
        prune: imagePruneCommand, ls: imagesCommand, rm: rmiCommand, tag: tagCommand, inspect: inspectCommand,
        history: historyCommand, push: pushCommand, pull: pullCommand, save: saveCommand, load: loadCommand,
      };
      const run = sub ? commands[sub] : undefined;
      if (!run) {
        process.stderr.write(`mayfly image: ${sub ? `unknown subcommand "${sub}"` : 'a subcommand is needed'} (${Object.keys(commands).join(', ')})
`);
        return 125;
      }
      return run(args);
    }
    case 'version':
    case '--version':
      process.stdout.write(`${JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')).version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`mayfly: unknown command "${command}"\n\n${USAGE}`);
      return 125;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`mayfly: ${isMayflyError(e) ? e.message : ((e as Error)?.stack ?? String(e))}\n`);
    process.exitCode = exitCodeFor(e);
  },
);
