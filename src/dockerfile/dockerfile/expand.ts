/**
 * Variable expansion as Docker does it in FROM, COPY, ADD, ENV, LABEL, ARG, WORKDIR, USER, EXPOSE,
 * VOLUME, STOPSIGNAL and instruction flags: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
 * `${VAR:+word}`, `${VAR+word}`, `${VAR:?message}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`,
 * `${VAR%%pat}`; single quotes keep everything literal, double quotes expand, the escape character
 * (`\` or the `# escape=` one) takes the next character literally. Quotes are removed. RUN, CMD and
 * ENTRYPOINT are not expanded here: their shell does it.
 */

export type Lookup = (name: string) => string | undefined;

/** A failure to expand; the caller adds the Dockerfile line. */
export class ExpansionError extends Error {}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const SPACE = /[ \t\r\n]/;

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly escape: string,
    readonly lookup: Lookup,
    readonly used: Set<string>,
  ) {}
  peek(): string | undefined {
    return this.text[this.pos];
  }
  next(): string | undefined {
    return this.text[this.pos++];
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
}

/** Collects words; `quoted` marks that an (even empty) word exists. */
class Words {
  readonly words: string[] = [];
  private current = '';
  private started = false;
  add(text: string): void {
    this.current += text;
    this.started = true;
  }
  mark(): void {
    this.started = true;
  }
  /** unquoted text from an expansion: splits on blanks when splitting words */
  addSplit(text: string, split: boolean): void {
    if (!split) return this.add(text);
    for (const ch of text) {
      if (SPACE.test(ch)) this.blank();
      else this.add(ch);
    }
  }
  blank(): void {
    if (this.started) this.words.push(this.current);
    this.current = '';
    this.started = false;
  }
  finish(): string[] {
    this.blank();
    return this.words;
  }
}

/** Expands one word (spaces stay): ENV and LABEL values, WORKDIR, USER, each COPY source, flags. */
export function expandWord(text: string, lookup: Lookup, escape = '\\', used: Set<string> = new Set()): string {
  const s = new Scanner(text, escape, lookup, used);
  return scan(s, undefined, false).join(' ');
}

/** Expands and splits into words on unquoted blanks (EXPOSE, and words of a line). */
export function expandWords(text: string, lookup: Lookup, escape = '\\', used: Set<string> = new Set()): string[] {
  const s = new Scanner(text, escape, lookup, used);
  return scan(s, undefined, true);
}

/**
 * Expands variables only: quotes and other escapes stay as they are (a COPY heredoc's content,
 * which is a file, not a word). `\$` is a literal `$`.
 */
export function expandVariables(text: string, lookup: Lookup, escape = '\\', used: Set<string> = new Set()): string {
  const s = new Scanner(text, escape, lookup, used);
  let out = '';
  while (!s.done) {
    const ch = s.peek()!;
    if (ch === escape && s.text[s.pos + 1] === '$') {
      s.pos += 2;
      out += '$';
    } else if (ch === '$') out += dollar(s);
    else out += s.next();
  }
  return out;
}

function scan(s: Scanner, stop: string | undefined, split: boolean): string[] {
  const words = new Words();
  while (!s.done) {
    const ch = s.peek()!;
    if (stop !== undefined && ch === stop) break;
    if (ch === s.escape) {
      s.next();
      if (s.done) {
        words.add(ch);
        break;
      }
      words.add(s.next()!);
    } else if (ch === "'") {
      s.next();
      words.mark();
      words.add(singleQuoted(s));
    } else if (ch === '"') {
      s.next();
      words.mark();
      words.add(doubleQuoted(s));
    } else if (ch === '$') {
      words.addSplit(dollar(s), split);
    } else if (split && SPACE.test(ch)) {
      s.next();
      words.blank();
    } else {
      words.add(s.next()!);
    }
  }
  if (!split) {
    // one word: keep it even when empty
    const out = words.finish();
    return [out.join(' ')];
  }
  return words.finish();
}

function singleQuoted(s: Scanner): string {
  let out = '';
  for (;;) {
    if (s.done) throw new ExpansionError(`unexpected end of text looking for the closing ' in ${s.text}`);
    const ch = s.next()!;
    if (ch === "'") return out;
    out += ch;
  }
}

function doubleQuoted(s: Scanner): string {
  let out = '';
  for (;;) {
    if (s.done) throw new ExpansionError(`unexpected end of text looking for the closing " in ${s.text}`);
    const ch = s.peek()!;
    if (ch === '"') {
      s.next();
      return out;
    }
    if (ch === '$') {
      out += dollar(s);
      continue;
    }
    s.next();
    if (ch === s.escape) {
      const n = s.peek();
      // inside double quotes the escape only escapes ", $ and itself
      if (n === '"' || n === '$' || n === s.escape) out += s.next();
      else out += ch;
      continue;
    }
    out += ch;
  }
}

function readName(s: Scanner): string {
  let name = '';
  if (s.peek() && /[0-9]/.test(s.peek()!)) return s.next()!; // $1: a positional parameter, always empty
  while (!s.done && NAME_CHAR.test(s.peek()!)) name += s.next();
  return name;
}

function value(s: Scanner, name: string): string | undefined {
  s.used.add(name);
  return s.lookup(name);
}

function dollar(s: Scanner): string {
  s.next(); // $
  const ch = s.peek();
  if (ch === undefined) return '$';
  if (ch !== '{') {
    if (!NAME_START.test(ch) && !/[0-9]/.test(ch)) return '$';
    const name = readName(s);
    return value(s, name) ?? '';
  }
  s.next(); // {
  const name = readName(s);
  if (!name) throw new ExpansionError(`bad substitution in ${s.text}: \${ needs a variable name`);
  const op = s.next();
  if (op === '}') return value(s, name) ?? '';
  if (op === undefined) throw new ExpansionError(`missing '}' in ${s.text}`);
  let modifier = op;
  if (op === ':') {
    const m = s.next();
    if (m !== '-' && m !== '+' && m !== '?') throw new ExpansionError(`unsupported modifier :${m ?? ''} in \${${name}...} (${s.text})`);
    modifier = `:${m}`;
  } else if ((op === '#' || op === '%') && s.peek() === op) {
    modifier = op + s.next()!;
  } else if (!['-', '+', '?', '#', '%'].includes(op)) {
    throw new ExpansionError(`unsupported modifier ${op} in \${${name}...} (${s.text})`);
  }
  const word = scan(s, '}', false)[0]!;
  if (s.next() !== '}') throw new ExpansionError(`missing '}' in ${s.text}`);
  const v = value(s, name);
  switch (modifier) {
    case '-':
      return v === undefined ? word : v;
    case ':-':
      return v ? v : word;
    case '+':
      return v === undefined ? '' : word;
    case ':+':
      return v ? word : '';
    case '?':
      if (v === undefined) throw new ExpansionError(`${name}: ${word || 'is not set'}`);
      return v;
    case ':?':
      if (!v) throw new ExpansionError(`${name}: ${word || 'is not set or empty'}`);
      return v;
    default:
      return trimPattern(v ?? '', word, modifier);
  }
}

/** `#`/`##` remove the shortest/longest matching prefix, `%`/`%%` the shortest/longest suffix. */
function trimPattern(v: string, pattern: string, how: string): string {
  const re = new RegExp(`^${globToRegex(pattern)}$`, 's');
  const lengths = [...Array(v.length + 1).keys()];
  const order = how.length === 2 ? lengths.reverse() : lengths;
  for (const n of order) {
    if (how[0] === '#' && re.test(v.slice(0, n))) return v.slice(n);
    if (how[0] === '%' && re.test(v.slice(v.length - n))) return v.slice(0, v.length - n);
  }
  return v;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let set = glob.slice(i + 1, end);
        if (set.startsWith('!') || set.startsWith('^')) set = `^${set.slice(1)}`;
        out += `[${set.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}
