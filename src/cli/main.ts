/** The `mayfly` command line. */
import { readFileSync } from 'node:fs';
import { isMayflyError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { doctorCommand } from './doctor-command.js';
import { imagesCommand, pullCommand } from './image-commands.js';
import { runCommand } from './run-command.js';

const USAGE = `Usage: mayfly COMMAND [ARGS]

Throwaway containers without a daemon and without root.

Commands:
  run       run a command in a new container (mayfly run --help)
  pull      pull an image into the local store, with progress
  images    list the images in the store
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
    case 'images':
      return imagesCommand(rest);
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
