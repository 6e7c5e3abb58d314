/**
 * Strategy arguments are checked when the strategy is made, in the test's own stack, so a typo is
 * an error naming the call and the argument rather than a minute-long wait that cannot succeed.
 */
import { MayflyError } from '../../core/errors.js';

export function invalidArgument(call: string, argument: string, problem: string, hint?: string): MayflyError {
  return new MayflyError('INVALID_OPTION', `${call}: ${argument} ${problem}`, { details: { call, argument }, ...(hint ? { hint } : {}) });
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function checkPort(call: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw invalidArgument(call, argument, `must be a port number from 1 to 65535, got ${shown(value)}`);
  }
  return value;
}

export function checkPositiveMs(call: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(call, argument, `must be a positive number of milliseconds, got ${shown(value)}`);
  }
  return value;
}

export function checkCount(call: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidArgument(call, argument, `must be a whole number of at least 1, got ${shown(value)}`);
  }
  return value;
}

/** An argv (`['pg_isready', '-U', 'postgres']`) or a shell command line, run by /bin/sh -c. */
export function checkCommand(call: string, argument: string, value: unknown): string[] {
  if (typeof value === 'string') {
    if (!value.trim()) throw invalidArgument(call, argument, 'must not be empty');
    return ['/bin/sh', '-c', value];
  }
  if (!Array.isArray(value) || !value.every((a) => typeof a === 'string')) {
    throw invalidArgument(call, argument, `must be a shell command line or an array of strings (argv), got ${shown(value)}`);
  }
  if (!value.length || !value[0]) throw invalidArgument(call, argument, 'must name a program: the argv is empty');
  return [...value];
}

export function describeArgv(argv: readonly string[]): string {
  if (argv.length === 3 && argv[0] === '/bin/sh' && argv[1] === '-c') return `\`${argv[2]}\``;
  return `\`${argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')}\``;
}
