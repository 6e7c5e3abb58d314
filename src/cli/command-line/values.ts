/** Typed reads of parsed flags (the parser has already checked each value against its declaration). */
import type { Flags } from './definition.js';

export const text = (f: Flags, name: string): string | undefined => (typeof f[name] === 'string' ? (f[name] as string) : undefined);
export const list = (f: Flags, name: string): string[] => (Array.isArray(f[name]) ? (f[name] as string[]) : []);
export const bool = (f: Flags, name: string): boolean => f[name] === true;
export const num = (f: Flags, name: string): number | undefined => (typeof f[name] === 'string' ? Number(f[name]) : undefined);

/** `KEY=VALUE` flags (labels, build args) as a record; a bare KEY gets an empty value, as Docker's labels do */
export function keyValues(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values) {
    const i = kv.indexOf('=');
    if (i < 0) out[kv] = '';
    else out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
