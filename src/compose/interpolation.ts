/**
 * Compose's variable interpolation, in every string value of a file (never in keys): `$$` is a
 * dollar; `$VAR` and `${VAR}` the variable (empty, with a warning, when unset); `${VAR:-default}`
 * (unset or empty) and `${VAR-default}` (unset) a default; `${VAR:?message}` / `${VAR?message}` an
 * error; `${VAR:+other}` / `${VAR+other}` a replacement when set. Defaults and replacements may hold
 * further `${…}`.
 */
import { MayflyError } from '../core/errors.js';
import { Override } from './yaml-document.js';

export type Variables = Readonly<Record<string, string | undefined>>;

export interface Interpolation {
  vars: Variables;
  /** where the text comes from, for messages (a file, or a file and a key) */
  where: string;
  /** names of unset variables that were used: compose warns once for each */
  unset: Set<string>;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolateString(text: string, ctx: Interpolation): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      const end = closingBrace(text, i + 2, ctx);
      out += expandBraced(text.slice(i + 2, end), ctx);
      i = end + 1;
    } else {
      const name = NAME.exec(text.slice(i + 1))?.[0];
      if (!name) {
        out += '$';
        i++;
        continue;
      }
      out += lookup(name, ctx) ?? '';
      i += 1 + name.length;
    }
  }
  return out;
}

/** The index of the `}` closing a `${` whose body starts at `from`, nested `${…}` skipped. */
function closingBrace(text: string, from: number, ctx: Interpolation): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}' && --depth === 0) return i;
  }
  throw new MayflyError('INVALID_OPTION', `${ctx.where}: "\${" without its closing "}" in "${text}"`, { hint: 'write $$ for a literal dollar sign' });
}

function expandBraced(body: string, ctx: Interpolation): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new MayflyError('INVALID_OPTION', `${ctx.where}: "\${${body}}" is not a variable reference`, { hint: 'names use letters, digits and _; write $$ for a literal dollar sign' });
  const rest = body.slice(name.length);
  const value = ctx.vars[name];
  if (!rest) return lookup(name, ctx) ?? '';
  const op = /^(:?)([-?+])/.exec(rest);
  if (!op) throw new MayflyError('INVALID_OPTION', `${ctx.where}: "\${${body}}": expected :-, -, :?, ?, :+ or + after ${name}`);
  const arg = rest.slice(op[0].length);
  const missing = value === undefined || (op[1] === ':' && value === '');
  switch (op[2]) {
    case '-':
      return missing ? interpolateString(arg, ctx) : value!;
    case '+':
      return missing ? '' : interpolateString(arg, ctx);
    default: // '?'
      if (missing) throw new MayflyError('INVALID_OPTION', `${ctx.where}: ${name} is required${arg ? `: ${interpolateString(arg, ctx)}` : ''}`, { hint: `set ${name} in the environment or in .env` });
      return value!;
  }
}

function lookup(name: string, ctx: Interpolation): string | undefined {
  const v = ctx.vars[name];
  if (v === undefined) ctx.unset.add(name);
  return v;
}

/** Interpolates every string value below `v` (mapping keys stay as written). */
export function interpolate(v: unknown, ctx: Interpolation): unknown {
  if (typeof v === 'string') return interpolateString(v, ctx);
  if (v instanceof Override) return new Override(interpolate(v.value, ctx));
  if (Array.isArray(v)) return v.map((x) => interpolate(x, ctx));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, interpolate(x, ctx)]));
  return v;
}
