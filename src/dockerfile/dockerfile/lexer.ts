/**
 * Physical lines → instructions, as BuildKit reads them: parser directives first; blank lines and
 * `#` comment lines dropped (also inside continuations); a line ending in the escape character
 * (trailing blanks allowed) continues on the next, joined without a separator; the first line of an
 * instruction loses its leading blanks, continuation lines keep theirs. RUN, COPY and ADD may carry
 * heredocs (`<<EOF`, `<<-EOF` strips leading tabs, `<<"EOF"` / `<<'EOF'` is not expanded): their
 * bodies are the lines that follow, up to the line that is the terminator.
 */
import { readDirectives, type Directives } from './directives.js';
import { dockerfileError } from './errors.js';
import { expandWord } from './expand.js';
import { jsonArray, splitRaw } from './words.js';

export interface Heredoc {
  /** the terminator word, e.g. `EOF` */
  name: string;
  /** the lines between, each ending in a newline (tabs already stripped for `<<-`) */
  content: string;
  /** unquoted terminator: COPY expands variables in the content */
  expand: boolean;
  chomp: boolean;
}

export interface RawInstruction {
  /** first and last physical line (1-based), heredoc bodies included */
  line: number;
  endLine: number;
  /** upper case */
  keyword: string;
  /** leading `--name[=value]` words, as written */
  flags: string[];
  /** the text after the keyword and the flags */
  rest: string;
  heredocs: Heredoc[];
  /** the logical line as written (continuations joined) */
  text: string;
}

export interface LexedDockerfile {
  directives: Directives;
  instructions: RawInstruction[];
  /** things Docker accepts but warns about */
  warnings: string[];
}

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const COMMENT = /^[ \t]*#/;
const BLANK = /^[ \t]*$/;

export function lexDockerfile(text: string): LexedDockerfile {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives = readDirectives(lines);
  const esc = directives.escape;
  const continuation = new RegExp(`${esc === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const instructions: RawInstruction[] = [];
  const warnings: string[] = [];

  let i = directives.lines;
  while (i < lines.length) {
    const first = lines[i]!;
    i++;
    if (BLANK.test(first) || COMMENT.test(first)) continue;
    const start = i;
    let logical = first.replace(/^[ \t]+/, '');
    let open = continuation.test(logical);
    if (open) logical = logical.replace(continuation, '');
    let emptyContinuation = false;
    while (open && i < lines.length) {
      const next = lines[i]!;
      i++;
      if (COMMENT.test(next)) continue;
      if (BLANK.test(next)) {
        emptyContinuation = true;
        continue;
      }
      open = continuation.test(next);
      logical += open ? next.replace(continuation, '') : next;
    }
    if (emptyContinuation) warnings.push(`line ${start}: an empty line inside a continued instruction (Docker accepts it, but a future Docker may not)`);
    const trimmed = logical.trim();
    if (!trimmed) continue;
    const m = /^(\S+)\s*([\s\S]*)$/.exec(trimmed)!;
    const keyword = m[1]!.toUpperCase();
    const { flags, rest } = leadingFlags(m[2]!, esc);
    const inst: RawInstruction = { line: start, endLine: i, keyword, flags, rest, heredocs: [], text: trimmed };
    if (HEREDOC_KEYWORDS.has(keyword) && !jsonArray(rest)) {
      for (const marker of heredocMarkers(rest, start)) {
        const body: string[] = [];
        let closed = false;
        while (i < lines.length) {
          const l = lines[i]!;
          i++;
          if ((marker.chomp ? l.replace(/^\t+/, '') : l) === marker.name) {
            closed = true;
            break;
          }
          body.push(marker.chomp ? l.replace(/^\t+/, '') : l);
        }
        if (!closed) throw dockerfileError(start, `the heredoc <<${marker.name} has no line "${marker.name}" to end it`, `end the heredoc with a line holding only ${marker.name}`);
        inst.heredocs.push({ ...marker, content: body.map((l) => `${l}\n`).join('') });
      }
      inst.endLine = i;
    }
    instructions.push(inst);
  }
  return { directives, instructions, warnings };
}

/** `--from=build --chown=app` at the start of the arguments; stops at the first other word or `--`. */
function leadingFlags(text: string, esc: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let rest = text;
  for (;;) {
    const m = /^--(?=[A-Za-z])/.exec(rest);
    if (!m) break;
    const word = splitRaw(rest, esc)[0]!;
    flags.push(word);
    rest = rest.slice(word.length).replace(/^\s+/, '');
  }
  return { flags, rest };
}

const MARKER = /^<<(-?)\s*([^<]*)$/;

/** The heredoc words of a line: `<<EOF`, `<<-EOF`, `<<"EOF"`, `<<'EOF'`, in order. */
export function heredocMarkers(rest: string, line: number): Omit<Heredoc, 'content'>[] {
  const out: Omit<Heredoc, 'content'>[] = [];
  for (const word of splitRaw(rest)) {
    const m = MARKER.exec(word);
    if (!m || !m[2]) continue;
    const quoted = /['"]/.test(m[2]);
    let name: string;
    try {
      name = expandWord(m[2], () => undefined);
    } catch {
      throw dockerfileError(line, `the heredoc marker ${word} is not closed`, 'write <<EOF, <<"EOF" or <<-EOF');
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) continue; // `<<` used for something else, e.g. a shell here-string
    out.push({ name, expand: !quoted, chomp: m[1] === '-' });
  }
  return out;
}
