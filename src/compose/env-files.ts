/**
 * Environment files as compose reads them — the project's `.env` (the values interpolation uses)
 * and a service's `env_file` — in the dotenv syntax: `KEY=VALUE` lines, `#` comments, an optional
 * `export`, single quotes taken literally, double quotes with `\n`-style escapes, unquoted values
 * ending at ` #`; `${VAR}` in unquoted and double-quoted values refers to earlier keys of the file,
 * then to the environment. `format: raw` takes each value exactly as written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { interpolateString, type Variables } from './interpolation.js';

export interface EnvFileRef {
  path: string;
  /** false: a missing file is skipped */
  required: boolean;
  format?: 'raw' | undefined;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', $: '$' };

/** Parses dotenv text; `where` names the file in messages. */
export function parseEnvText(text: string, where: string, env: Variables = {}, raw = false): Record<string, string> {
  const out: Record<string, string> = {};
  const vars = new Proxy({} as Record<string, string | undefined>, { get: (_, k: string) => out[k] ?? env[k] });
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const t = raw ? line : line.trim();
    if (!t.trim() || t.trimStart().startsWith('#')) continue;
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=)?/.exec(t);
    if (!m || (!m[2] && t.slice(m[0].length).trim() && !t.slice(m[0].length).trim().startsWith('#'))) throw new MayflyError('INVALID_OPTION', `${where} line ${n + 1}: expected KEY=VALUE, got "${line.trim()}"`);
    const key = m[1]!;
    if (!m[2]) {
      // a bare KEY passes the variable through from the environment, when it is set there
      if (env[key] !== undefined) out[key] = env[key]!;
      continue;
    }
    let rest = t.slice(m[0].length);
    if (raw) {
      out[key] = rest;
      continue;
    }
    rest = rest.trimStart();
    const ctx = { vars, where: `${where} line ${n + 1}`, unset: new Set<string>() };
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // a quoted value may go on over several lines, up to its closing quote
      let body = rest.slice(1);
      let close = findClose(body, quote);
      while (close < 0 && n + 1 < lines.length) {
        body += `\n${lines[++n]!}`;
        close = findClose(body, quote);
      }
      if (close < 0) throw new MayflyError('INVALID_OPTION', `${where}: the value of ${key} has no closing ${quote}`);
      const value = body.slice(0, close);
      out[key] = quote === "'" ? value : interpolateString(value.replace(/\\(.)/g, (s, c: string) => ESCAPES[c] ?? s), ctx);
      continue;
    }
    const comment = rest.search(/\s#/);
    out[key] = interpolateString((comment >= 0 ? rest.slice(0, comment) : rest).trim(), ctx);
  }
  return out;
}

function findClose(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

/** Reads env files in order (later keys win); relative paths against `dir`. */
export function readEnvFiles(dir: string, files: EnvFileRef[], env: Variables = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const path = isAbsolute(f.path) ? f.path : resolve(dir, f.path);
    if (!existsSync(path)) {
      if (!f.required) continue;
      throw new MayflyError('INVALID_OPTION', `env_file ${path} not found`, { hint: 'create it, or mark it `required: false`' });
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new MayflyError('INVALID_OPTION', `env_file ${path} cannot be read: ${(e as Error).message}`);
    }
    Object.assign(out, parseEnvText(text, path, env, f.format === 'raw'));
  }
  return out;
}

/** The project directory's `.env` (or the files given with --env-file): the defaults for interpolation. */
export function readDotEnv(dir: string, envFiles?: string[]): Record<string, string> {
  if (envFiles?.length) return readEnvFiles(dir, envFiles.map((path) => ({ path, required: true })));
  return readEnvFiles(dir, [{ path: '.env', required: false }]);
}
