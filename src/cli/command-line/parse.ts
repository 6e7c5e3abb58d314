/**
 * Docker's command-line rules (those of its flag library, pflag) on top of Node's `util.parseArgs`:
 * grouped short flags (`-aq`, `-dP`, `-it`), a value glued to its short flag or after `=` (`-t0`,
 * `-t=0`), `--flag=value`, booleans that take `=false`, repeated flags, `--`, and — for `run`,
 * `create` and `exec` — options ending at the first positional argument, so that everything after
 * the image is the container's command. parseArgs does the tokenizing; this module adds the cut,
 * the `=` forms it does not know, the checks, and messages that name the flag, the value and what
 * is accepted.
 */
import { parseArgs } from 'node:util';
import { MayflyError } from '../../core/errors.js';
import { closest } from './closest.js';
import { HELP_FLAG, type CommandDef, type FlagDef, type Flags, type ValueType } from './definition.js';

export interface ParseResult {
  flags: Flags;
  args: string[];
  help: boolean;
}

/** `-t, --time` as help and messages show a flag */
export function flagLabel(f: FlagDef): string {
  return f.short ? `-${f.short}, --${f.long}` : `--${f.long}`;
}

export function usageError(path: string[], message: string): MayflyError {
  const command = ['mayfly', ...path].join(' ');
  return new MayflyError('INVALID_OPTION', `${command}: ${message}`, { hint: `see '${command} --help'` });
}

const TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

const ACCEPTED: Record<Exclude<ValueType, 'string'>, [RegExp | ((v: string) => boolean), string]> = {
  uint: [/^\d+$/, 'a whole number ≥ 0'],
  int: [/^-?\d+$/, 'a whole number'],
  number: [(v) => v.trim() !== '' && Number.isFinite(Number(v)), 'a number'],
  bytes: [/^\d+(\.\d+)?\s*[bkmgt]?(i?b)?$/i, 'a size like 64m, 1g or 1048576'],
  time: [
    (v) => /^-?\d+(\.\d+)?$/.test(v) || /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v) || !Number.isNaN(Date.parse(v)),
    'a date (2024-05-01 or 2024-05-01T10:00:00Z), a Unix timestamp, or a duration before now like 10m or 1h30m',
  ],
};

function checkValue(path: string[], f: FlagDef, value: string, longs: () => string[], arg: string): string {
  // `-time=1` is -t with the value "ime=1" (as pflag reads it): say what was probably meant
  const word = /^-([A-Za-z][A-Za-z-]+)(=.*)?$/.exec(arg)?.[1];
  const near = word ? closest(word, longs()) : undefined;
  const meant = near ? ` (did you mean --${near}?)` : '';
  if (f.choices && !f.choices.includes(value)) {
    throw usageError(path, `invalid value "${value}" for ${flagLabel(f)}: expected one of ${f.choices.join(', ')}${meant}`);
  }
  const type = f.type ?? 'string';
  if (type === 'string') return value;
  const [test, accepted] = ACCEPTED[type];
  if (!(typeof test === 'function' ? test(value) : test.test(value))) throw usageError(path, `invalid value "${value}" for ${flagLabel(f)}: expected ${accepted}${meant}`);
  return value;
}

export function parseCommandLine(def: CommandDef, path: string[], argv: string[]): ParseResult {
  const all = [...(def.flags ?? []), HELP_FLAG];
  const byName = new Map<string, FlagDef>();
  const byShort = new Map<string, FlagDef>();
  for (const f of all) {
    for (const n of [f.long, ...(f.aliases ?? [])]) byName.set(n, f);
    if (f.short) byShort.set(f.short, f);
  }

  // parseArgs reads `-d=false` as the flags d, = and f: give a boolean short flag before `=` its long name
  const args: string[] = [];
  const origin: number[] = [];
  for (const [i, arg] of argv.entries()) {
    const m = /^-([A-Za-z0-9]+)=(.*)$/s.exec(arg);
    const letters = m?.[1] ?? '';
    const valueTaker = [...letters].findIndex((c) => byShort.get(c)?.kind !== 'bool');
    if (m && valueTaker === -1) {
      if (letters.length > 1) {
        args.push(`-${letters.slice(0, -1)}`);
        origin.push(i);
      }
      args.push(`--${byShort.get(letters.at(-1)!)!.long}=${m[2]}`);
      origin.push(i);
      continue;
    }
    args.push(arg);
    origin.push(i);
  }

  const options: Record<string, { type: 'boolean' | 'string'; short?: string; multiple?: boolean }> = {};
  for (const f of all) {
    const type = f.kind === 'bool' ? 'boolean' : 'string';
    options[f.long] = { type, ...(f.short ? { short: f.short } : {}), ...(f.kind === 'list' ? { multiple: true } : {}) };
    for (const a of f.aliases ?? []) options[a] = { type, ...(f.kind === 'list' ? { multiple: true } : {}) };
  }
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });

  const flags: Flags = {};
  const positionals: string[] = [];
  const interspersed = def.interspersed ?? true;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') {
      positionals.push(...argv.slice(origin[t.index]! + 1));
      break;
    }
    if (t.kind === 'positional') {
      if (!interspersed) {
        positionals.push(...argv.slice(origin[t.index]!));
        break;
      }
      positionals.push(t.value);
      continue;
    }
    const isShort = !t.rawName.startsWith('--');
    // parseArgs names a known short flag by its long name; an unknown one by its letter
    const f = isShort && t.name.length === 1 ? (byShort.get(t.name) ?? byName.get(t.name)) : byName.get(t.name);
    if (!f) throw unknownFlag(path, all, t.rawName, argv[origin[t.index]!]!);
    if (f.kind === 'bool') {
      if (t.value === undefined) flags[f.long] = true;
      else if (TRUE.has(t.value)) flags[f.long] = true;
      else if (FALSE.has(t.value)) flags[f.long] = false;
      else throw usageError(path, `invalid value "${t.value}" for ${flagLabel(f)}: expected true or false`);
      continue;
    }
    if (t.value === undefined) throw usageError(path, `flag needs an argument: ${t.rawName}${f.placeholder ? ` ${f.placeholder}` : ''}`);
    // pflag reads `-t=0` as the value 0; parseArgs gives "=0"
    const raw = isShort && t.inlineValue && t.value.startsWith('=') ? t.value.slice(1) : t.value;
    const value = checkValue(path, f, raw, () => longNames(all), isShort && t.inlineValue ? argv[origin[t.index]!]! : '');
    if (f.kind === 'list') ((flags[f.long] ??= []) as string[]).push(value);
    else flags[f.long] = value;
  }

  const help = flags.help === true;
  if (!help) {
    if (def.minArgs !== undefined && positionals.length < def.minArgs) {
      throw usageError(path, `requires ${def.minArgs === def.maxArgs ? 'exactly' : 'at least'} ${def.minArgs} argument${def.minArgs === 1 ? '' : 's'}${def.usage ? ` (usage: mayfly ${path.join(' ')} ${def.usage})` : ''}`);
    }
    if (def.maxArgs !== undefined && positionals.length > def.maxArgs) {
      throw usageError(
        path,
        `accepts ${def.maxArgs === 0 ? 'no' : `at most ${def.maxArgs}`} argument${def.maxArgs === 1 ? '' : 's'}, got ${positionals.length}: ${positionals.join(' ')}${def.usage ? ` (usage: mayfly ${path.join(' ')} ${def.usage})` : ''}`,
      );
    }
  }
  return { flags, args: positionals, help };
}

const longNames = (all: FlagDef[]) => all.filter((f) => !f.hidden).flatMap((f) => [f.long, ...(f.aliases ?? [])]);

function unknownFlag(path: string[], all: FlagDef[], rawName: string, arg: string): MayflyError {
  const longs = longNames(all);
  if (rawName.startsWith('--')) {
    const near = closest(rawName.slice(2), longs);
    return usageError(path, `unknown flag: ${rawName}${near ? ` (did you mean --${near}?)` : ''}`);
  }
  // `-all` typed for `--all`: a word after one dash is read as grouped short flags
  const word = /^-([A-Za-z][A-Za-z-]+)(=.*)?$/.exec(arg)?.[1];
  const asLong = word ? closest(word, longs) : undefined;
  const shorts = all.filter((f) => f.short && !f.hidden).map((f) => `-${f.short}`);
  const hint = asLong ? ` (did you mean --${asLong}?)` : shorts.length ? ` (its short flags: ${shorts.join(' ')})` : '';
  return usageError(path, `unknown shorthand flag: '${rawName.slice(1)}' in ${arg}${hint}`);
}
