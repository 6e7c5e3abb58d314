/**
 * The `mayfly` command line: finds the command in the declarations (commands.ts), parses its flags,
 * prints its help or loads and runs it. Importing this module runs nothing: bin/mayfly.js calls
 * `main(process.argv.slice(2))`.
 */
import { isMayflyError } from '../core/errors.js';
import { closest } from './command-line/closest.js';
import type { CommandDef, Flags } from './command-line/definition.js';
import { parseCommandLine, usageError } from './command-line/parse.js';
import { ROOT } from './commands.js';

/** Docker's convention: 125 when mayfly itself fails, 126/127 when the command cannot run. */
export function exitCodeFor(e: unknown): number {
  if (isMayflyError(e, 'COMMAND_NOT_FOUND')) return 127;
  if (isMayflyError(e, 'COMMAND_NOT_EXECUTABLE')) return 126;
  return 125;
}

/** --help, loaded only when asked for */
async function printHelp(def: CommandDef, path: string[]): Promise<number> {
  const { renderHelp } = await import('./command-line/help.js');
  process.stdout.write(renderHelp(def, path));
  return 0;
}

function findSub(def: CommandDef, name: string): CommandDef | undefined {
  return def.subcommands?.find((s) => s.name === name || s.aliases?.includes(name));
}

async function dispatch(argv: string[]): Promise<number> {
  // `mayfly help network create` is `mayfly network create --help`
  if (argv[0] === 'help') argv = [...argv.slice(1), '--help'];
  let def = ROOT;
  const path: string[] = [];
  let rest = argv;
  let inherited: Flags = {};
  while (def.subcommands) {
    // a group's own flags (`compose -f FILE`) come before its subcommand
    const parsed = parseCommandLine({ ...def, interspersed: false }, path, rest);
    if (def === ROOT && parsed.flags.version) return (await import('./version-command.js')).versionCommand();
    const [name, ...tail] = parsed.args;
    if (name === undefined) return printHelp(def, path);
    const sub = findSub(def, name);
    if (!sub) {
      const near = closest(name, def.subcommands.flatMap((s) => [s.name, ...(s.aliases ?? [])]));
      throw usageError(path.length ? path : [], `unknown command "${name}"${near ? ` (did you mean "${near}"?)` : ''}`);
    }
    if (parsed.help && !tail.length) return printHelp(sub, [...path, name]);
    inherited = { ...inherited, ...parsed.flags };
    path.push(name);
    def = sub;
    rest = tail;
  }
  const parsed = parseCommandLine(def, path, rest);
  if (parsed.help) return printHelp(def, path);
  const run = await def.load!();
  return run({ path, flags: { ...inherited, ...parsed.flags }, args: parsed.args });
}

/** Runs one command line; resolves with the exit code. Errors are printed here, with Docker's codes. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    const text = isMayflyError(e) ? e.message : ((e as Error)?.stack ?? String(e));
    process.stderr.write(/^mayfly[ :]/.test(text) ? `${text}\n` : `mayfly: ${text}\n`);
    return exitCodeFor(e);
  }
}
