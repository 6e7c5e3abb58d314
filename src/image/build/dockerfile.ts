/**
 * The Dockerfile subset mayfly builds: FROM (an image or scratch), RUN, COPY and ADD (local sources,
 * --chown), ENV, ARG, WORKDIR, USER, EXPOSE, CMD, ENTRYPOINT, LABEL, VOLUME, HEALTHCHECK,
 * STOPSIGNAL. Line continuations, comments and $VAR / ${VAR} / ${VAR:-default} substitution.
 */
import { MayflyError } from '../../errors.js';

export type Instruction =
  | { op: 'FROM'; image: string; line: number }
  | { op: 'RUN'; command: string[]; shell: boolean; line: number }
  | { op: 'COPY' | 'ADD'; sources: string[]; dest: string; chown?: string; line: number }
  | { op: 'ENV' | 'LABEL'; pairs: [string, string][]; line: number }
  | { op: 'ARG'; name: string; default?: string; line: number }
  | { op: 'WORKDIR' | 'USER' | 'STOPSIGNAL'; value: string; line: number }
  | { op: 'EXPOSE'; ports: string[]; line: number }
  | { op: 'CMD' | 'ENTRYPOINT'; command: string[]; shell: boolean; line: number }
  | { op: 'VOLUME'; paths: string[]; line: number }
  | { op: 'HEALTHCHECK'; test: string[] | null; options: Record<string, string>; line: number };

const SUPPORTED = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'LABEL', 'VOLUME', 'HEALTHCHECK', 'STOPSIGNAL']);

function fail(line: number, message: string): never {
  throw new MayflyError('INVALID_OPTION', `Dockerfile line ${line}: ${message}`);
}

/** Joins continuation lines and drops comments; keeps the first line number of each instruction. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!current && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current && trimmed.startsWith('#')) return; // comments inside continuations
    if (!current) start = i + 1;
    if (trimmed.endsWith('\\')) {
      current += `${trimmed.slice(0, -1)} `;
      return;
    }
    current += trimmed;
    out.push({ line: start, text: current.trim() });
    current = '';
  });
  if (current.trim()) out.push({ line: start, text: current.trim() });
  return out;
}

/**
 * Splits words the way the shell-less Dockerfile instructions (and compose's `command:`) do:
 * spaces, with quotes. `strict`: an unterminated quote is an error rather than the rest of the text.
 */
export function splitWords(text: string, opts: { strict?: boolean } = {}): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote && opts.strict) throw new MayflyError('INVALID_OPTION', `unterminated quote in "${text}"`);
  if (inWord) words.push(word);
  return words;
}

/** `["a", "b"]` (exec form) or a shell command line (shell form). */
function commandForm(rest: string, line: number): { command: string[]; shell: boolean } {
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return { command: parsed, shell: false };
    } catch {
      // not JSON: Docker then treats it as a shell command
    }
  }
  if (!rest) fail(line, 'needs a command');
  return { command: ['/bin/sh', '-c', rest], shell: true };
}

function pairs(rest: string, line: number, op: string): [string, string][] {
  const words = splitWords(rest);
  if (!words.length) fail(line, `${op} needs KEY=VALUE`);
  if (!words[0]!.includes('=')) return [[words[0]!, words.slice(1).join(' ')]]; // legacy `ENV KEY value`
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) fail(line, `${op} expects KEY=VALUE, got "${w}"`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  for (const { line, text: l } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (!SUPPORTED.has(op)) fail(line, `${op} is not supported (supported: ${[...SUPPORTED].join(', ')})`);
    if (!out.length && op !== 'FROM' && op !== 'ARG') fail(line, 'the first instruction must be FROM');
    switch (op) {
      case 'FROM': {
        const words = splitWords(rest);
        if (words.length !== 1) fail(line, words.length === 3 && words[1]?.toUpperCase() === 'AS' ? 'multi-stage builds (FROM … AS) are not supported' : 'FROM takes one image');
        if (out.some((i) => i.op === 'FROM')) fail(line, 'only one FROM is supported');
        out.push({ op: 'FROM', image: words[0]!, line });
        break;
      }
      case 'RUN':
        out.push({ op: 'RUN', ...commandForm(rest, line), line });
        break;
      case 'CMD':
      case 'ENTRYPOINT':
        out.push({ op, ...commandForm(rest, line), line });
        break;
      case 'COPY':
      case 'ADD': {
        let words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : splitWords(rest);
        let chown: string | undefined;
        const flags = words.filter((w) => w.startsWith('--'));
        for (const f of flags) {
          if (f.startsWith('--chown=')) chown = f.slice('--chown='.length);
          else fail(line, `${op} ${f} is not supported (only --chown)`);
        }
        words = words.filter((w) => !w.startsWith('--'));
        if (words.length < 2) fail(line, `${op} needs at least one source and a destination`);
        for (const s of words.slice(0, -1)) if (/^[a-z]+:\/\//i.test(s)) fail(line, `${op} from a URL is not supported: copy the file into the build context`);
        out.push({ op, sources: words.slice(0, -1), dest: words[words.length - 1]!, ...(chown ? { chown } : {}), line });
        break;
      }
      case 'ENV':
      case 'LABEL':
        out.push({ op, pairs: pairs(rest, line, op), line });
        break;
      case 'ARG': {
        const [name, def] = rest.split(/=(.*)/s);
        if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(line, `ARG needs a name, got "${rest}"`);
        out.push({ op: 'ARG', name, ...(def !== undefined ? { default: def } : {}), line });
        break;
      }
      case 'WORKDIR':
      case 'USER':
      case 'STOPSIGNAL':
        if (!rest) fail(line, `${op} needs a value`);
        out.push({ op, value: rest, line });
        break;
      case 'EXPOSE':
        out.push({ op: 'EXPOSE', ports: splitWords(rest).map((p) => (p.includes('/') ? p : `${p}/tcp`)), line });
        break;
      case 'VOLUME':
        out.push({ op: 'VOLUME', paths: rest.startsWith('[') ? (JSON.parse(rest) as string[]) : splitWords(rest), line });
        break;
      case 'HEALTHCHECK': {
        if (rest.toUpperCase() === 'NONE') {
          out.push({ op: 'HEALTHCHECK', test: null, options: {}, line });
          break;
        }
        const options: Record<string, string> = {};
        let r = rest;
        for (let o = /^--([a-z-]+)=(\S+)\s*/.exec(r); o; o = /^--([a-z-]+)=(\S+)\s*/.exec(r)) {
          options[o[1]!] = o[2]!;
          r = r.slice(o[0].length);
        }
        if (!/^CMD\s/i.test(r)) fail(line, 'HEALTHCHECK needs CMD or NONE');
        const c = commandForm(r.slice(3).trim(), line);
        out.push({ op: 'HEALTHCHECK', test: c.shell ? ['CMD-SHELL', c.command[2]!] : ['CMD', ...c.command], options, line });
        break;
      }
    }
  }
  if (!out.some((i) => i.op === 'FROM')) throw new MayflyError('INVALID_OPTION', 'the Dockerfile has no FROM');
  return out;
}

/** $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}; `\$` stays a literal $. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\\\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, braced, mod, arg, bare) => {
    if (m === '\\$') return '$';
    const name = (braced ?? bare) as string;
    const value = vars[name];
    if (mod === '-') return value ? value : (arg as string);
    if (mod === '+') return value ? (arg as string) : '';
    return value ?? '';
  });
}
