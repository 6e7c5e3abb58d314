/**
 * COPY and ADD sources with wildcards, as Docker matches them: Go's `filepath.Match` (`*` and `?`
 * never cross a `/`, `[a-z]` and `[^a-z]` classes, `\` escapes), applied to paths relative to the
 * context (or a stage's root). A matched directory is taken whole (nothing below it is matched).
 */

export class PatternError extends Error {}

const META = /[*?[\\]/;

export function hasWildcards(path: string): boolean {
  return META.test(path);
}

/** Go's filepath.Match for `/`-separated paths: the whole name must match. */
export function match(pattern: string, name: string): boolean {
  return matchAt(pattern, 0, name, 0);
}

function matchAt(p: string, pi: number, s: string, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi]!;
    if (c === '*') {
      // a run of stars is one star
      while (p[pi] === '*') pi++;
      if (pi === p.length) return !s.slice(si).includes('/');
      for (let k = si; k <= s.length; k++) {
        if (matchAt(p, pi, s, k)) return true;
        if (s[k] === '/') break;
      }
      checkRest(p, pi);
      return false;
    }
    if (si >= s.length) {
      checkRest(p, pi);
      return false;
    }
    if (c === '?') {
      if (s[si] === '/') return false;
      pi++;
      si++;
      continue;
    }
    if (c === '[') {
      const [ok, next] = matchClass(p, pi, s[si]!);
      if (!ok || s[si] === '/') return false;
      pi = next;
      si++;
      continue;
    }
    if (c === '\\') {
      pi++;
      if (pi >= p.length) throw new PatternError(`the pattern ${p} ends in a lone \\`);
    }
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}

/** Validates the rest of a pattern, as Go reports a bad pattern even when the name ran out first. */
function checkRest(p: string, pi: number): void {
  for (let i = pi; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '[') i = matchClass(p, i, '\0')[1] - 1;
  }
}

/** `[...]` at p[pi]: whether ch is in it, and where the pattern goes on. */
function matchClass(p: string, pi: number, ch: string): [boolean, number] {
  let i = pi + 1;
  const negate = p[i] === '^';
  if (negate) i++;
  let matched = false;
  let first = true;
  for (;;) {
    if (i >= p.length) throw new PatternError(`the pattern ${p} has a [ without its ]`);
    if (p[i] === ']' && !first) {
      i++;
      break;
    }
    first = false;
    let lo = p[i]!;
    if (lo === '\\') lo = p[++i] ?? '';
    if (!lo) throw new PatternError(`the pattern ${p} ends inside [ ]`);
    i++;
    let hi = lo;
    if (p[i] === '-' && p[i + 1] !== ']' && i + 1 < p.length) {
      hi = p[i + 1]!;
      i += 2;
      if (hi === '\\') hi = p[i++] ?? '';
      if (!hi || hi < lo) throw new PatternError(`the pattern ${p} has a bad range ${lo}-${hi}`);
    }
    if (lo <= ch && ch <= hi) matched = true;
  }
  return [matched !== negate, i];
}

/**
 * The paths among `paths` (relative, `/`-separated, a directory before what is in it) that
 * `pattern` matches; below a matched directory nothing more is taken.
 */
export function matchPaths(pattern: string, paths: Iterable<{ rel: string; isDir: boolean }>): string[] {
  const out: string[] = [];
  let takenDir: string | undefined;
  for (const { rel, isDir } of paths) {
    if (takenDir !== undefined && rel.startsWith(`${takenDir}/`)) continue;
    if (!match(pattern, rel)) continue;
    out.push(rel);
    takenDir = isDir ? rel : undefined;
  }
  return out;
}
