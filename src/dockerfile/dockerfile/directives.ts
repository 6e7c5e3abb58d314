/**
 * Parser directives: `# key=value` lines at the very top of a Dockerfile. They are read until the
 * first line that is not one (a blank line, another comment, an instruction, an unknown directive);
 * after that a `# escape=` is only a comment, as in BuildKit.
 */
import { dockerfileError } from './errors.js';

export interface Directives {
  /** `\` (default) or `` ` ``: the line-continuation and escape character */
  escape: '\\' | '`';
  /** `# syntax=` as written: mayfly always uses its built-in frontend */
  syntax?: string;
  /** `# check=`: accepted, not acted on */
  check?: string;
  /** how many lines at the top were directives */
  lines: number;
}

const DIRECTIVE = /^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*?)\s*$/;
const KNOWN = new Set(['syntax', 'escape', 'check']);

export function readDirectives(lines: string[]): Directives {
  const out: Directives = { escape: '\\', lines: 0 };
  const seen = new Set<string>();
  for (const [i, raw] of lines.entries()) {
    const m = DIRECTIVE.exec(raw.trim());
    if (!m || !KNOWN.has(m[1]!.toLowerCase())) break;
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (seen.has(key)) throw dockerfileError(i + 1, `the parser directive "${key}" is given twice`, 'keep one of them');
    seen.add(key);
    if (key === 'escape') {
      if (value !== '\\' && value !== '`') throw dockerfileError(i + 1, `escape=${value}: the escape character must be \\ or \``, 'write # escape=\\ or # escape=`');
      out.escape = value;
    } else if (key === 'syntax') out.syntax = value;
    else out.check = value;
    out.lines = i + 1;
  }
  return out;
}
