/**
 * `.dockerignore`, with Docker's rules: one pattern a line, `#` lines are comments, patterns are
 * cleaned paths relative to the context (a leading `/` is dropped); `*` and `?` stay within a path
 * element, `**` spans any number of them (zero included); a pattern also excludes everything below
 * a directory it matches; `!` makes an exception; the last pattern that matches decides. The
 * Dockerfile and .dockerignore are only excluded when a pattern says so. A `<Dockerfile>.dockerignore`
 * beside the Dockerfile wins over the context's `.dockerignore`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';

export interface IgnorePattern {
  /** as cleaned */
  pattern: string;
  exception: boolean;
  regex: RegExp;
}

export function parseIgnoreFile(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const line of text.split(/\r?\n/)) {
    let p = line.trim();
    if (!p || p.startsWith('#')) continue;
    const exception = p.startsWith('!');
    if (exception) p = p.slice(1).trim();
    if (!p) continue;
    p = posix.normalize(p.replace(/\\(?=\/)/g, '/'));
    if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    if (p.endsWith('/') && p.length > 1) p = p.slice(0, -1);
    out.push({ pattern: p, exception, regex: patternRegex(p) });
  }
  return out;
}

function patternRegex(p: string): RegExp {
  let re = '^';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        i++;
        while (p[i + 1] === '*') i++;
        if (p[i + 1] === '/') i++;
        re += i + 1 >= p.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 < p.length) re += `\\${p[++i]}`;
      else re += '\\\\';
    } else if (c === '[') {
      re += p[i + 1] === '!' ? '[^' : '[';
      if (p[i + 1] === '!') i++;
    } else if (c === ']') re += ']';
    else re += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  try {
    return new RegExp(`${re}$`, 's');
  } catch {
    return /(?!)/; // a malformed class matches nothing, as a bad pattern does in Docker
  }
}

export class IgnoreRules {
  readonly hasExceptions: boolean;
  constructor(readonly patterns: IgnorePattern[]) {
    this.hasExceptions = patterns.some((p) => p.exception);
  }

  /** Whether a context path (relative, `/`-separated) is excluded: the last pattern matching it or a parent decides. */
  ignores(rel: string): boolean {
    const parents = rel.split('/');
    parents.pop();
    let excluded = false;
    for (const p of this.patterns) {
      // only a pattern that could change the answer is tried
      if (p.exception !== excluded) continue;
      let hit = p.regex.test(rel);
      for (let i = 1; !hit && i <= parents.length; i++) hit = p.regex.test(parents.slice(0, i).join('/'));
      if (hit) excluded = !p.exception;
    }
    return excluded;
  }

  /** Whether something below an excluded directory may still be brought back by an exception. */
  mayIncludeBelow(dir: string): boolean {
    if (!this.hasExceptions) return false;
    return this.patterns.some((p) => p.exception && (p.pattern.startsWith(`${dir}/`) || p.pattern.includes('*') || p.pattern.includes('?') || p.pattern.includes('[')));
  }
}

/** The rules for a build: `<dockerfile>.dockerignore` beside the Dockerfile, else `<context>/.dockerignore`, else none. */
export function loadIgnoreRules(context: string, dockerfile?: string): { rules: IgnoreRules; file?: string } {
  const candidates = [...(dockerfile ? [join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`)] : []), join(context, '.dockerignore')];
  for (const file of candidates) {
    if (existsSync(file)) return { rules: new IgnoreRules(parseIgnoreFile(readFileSync(file, 'utf8'))), file };
  }
  return { rules: new IgnoreRules([]) };
}
