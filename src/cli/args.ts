/**
 * A small parser for Docker-style flags: `-e K=V`, `--env=K=V`, repeated flags, booleans, and `--`
 * (or the first positional argument) ending the options.
 */
import { MayflyError } from '../errors.js';

export interface FlagSpec {
  /** names including dashes, e.g. ['-e', '--env'] */
  names: string[];
  kind: 'boolean' | 'string' | 'list';
  key: string;
}

export interface Parsed {
  flags: Record<string, string | boolean | string[]>;
  rest: string[];
}

export function parseFlags(argv: string[], specs: FlagSpec[], command: string): Parsed {
  const byName = new Map(specs.flatMap((s) => s.names.map((n) => [n, s] as const)));
  const flags: Parsed['flags'] = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const eq = arg.indexOf('=');
    const name = eq > 0 && arg.startsWith('--') ? arg.slice(0, eq) : arg;
    const spec = byName.get(name);
    if (!spec) throw new MayflyError('INVALID_OPTION', `mayfly ${command}: unknown flag ${name}`, { hint: `see \`mayfly ${command} --help\`` });
    if (spec.kind === 'boolean') {
      flags[spec.key] = true;
      continue;
    }
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) value = arg.slice(eq + 1);
    else value = argv[++i];
    if (value === undefined) throw new MayflyError('INVALID_OPTION', `mayfly ${command}: flag ${name} needs a value`);
    if (spec.kind === 'list') ((flags[spec.key] ??= []) as string[]).push(value);
    else flags[spec.key] = value;
  }
  return { flags, rest: argv.slice(i) };
}
