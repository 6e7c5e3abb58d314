/**
 * The part of Go's text/template that people put in `--format`: field paths (`{{.State.Status}}`,
 * `{{$.Name}}`), pipelines (`{{.Config.Env | json}}`), `if`/`else`/`range`/`with`/`end` with
 * variables (`{{range $name, $net := .NetworkSettings.Networks}}`), `{{- trim -}}` markers, Go's
 * functions that scripts use (index, len, printf, print, println, eq, ne, lt, le, gt, ge, not, and,
 * or) and Docker's (json, join, split, upper, lower, title, truncate, pad). Values print as Go
 * prints them: maps as `map[k:v]`, lists as `[a b]`, a missing key as `<no value>`.
 */
import { MayflyError } from '../../core/errors.js';

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline }
  | { kind: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipeline; vars: string[]; body: Node[]; else: Node[] };

interface Pipeline {
  /** `$x := …` declares a variable */
  declare: string[];
  commands: Term[][];
}

type Term =
  | { kind: 'field'; base: 'dot' | 'root' | string; path: string[] }
  | { kind: 'literal'; value: unknown }
  | { kind: 'ident'; name: string }
  | { kind: 'pipe'; pipe: Pipeline; path: string[] };

function templateError(message: string): MayflyError {
  return new MayflyError('INVALID_OPTION', `--format: ${message}`, { hint: 'Go template syntax, e.g. {{.Name}} or {{json .}}' });
}

// ——— lexing and parsing ———

function tokenize(src: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw templateError(`unterminated string in {{${src}}}`);
      tokens.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw templateError(`unterminated raw string in {{${src}}}`);
      tokens.push(src.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (c === '(' || c === ')' || c === '|' || c === ',') {
      tokens.push(c);
      i++;
      // `(index .X "k").Field`: a field of the parenthesized value
      const chain = c === ')' ? /^(\.[A-Za-z_]\w*)+/.exec(src.slice(i)) : null;
      if (chain) {
        tokens.push(`chain:${chain[0]}`);
        i += chain[0].length;
      }
      continue;
    }
    if (src.startsWith(':=', i)) {
      tokens.push(':=');
      i += 2;
      continue;
    }
    const m = /^[^\s()|,"`]+/.exec(src.slice(i))!;
    tokens.push(m[0].replace(/:=$/, ''));
    if (m[0].endsWith(':=') && m[0] !== ':=') tokens.push(':=');
    i += m[0].length;
  }
  return tokens;
}

function parseTerm(tokens: string[], pos: { i: number }): Term {
  const t = tokens[pos.i++];
  if (t === undefined) throw templateError('a pipeline ends too early');
  if (t === '(') {
    const pipe = parsePipeline(tokens, pos, ')');
    if (tokens[pos.i++] !== ')') throw templateError('missing )');
    const chain = tokens[pos.i]?.startsWith('chain:') ? tokens[pos.i++]!.slice(7).split('.') : [];
    return { kind: 'pipe', pipe, path: chain };
  }
  if (t.startsWith('"')) return { kind: 'literal', value: JSON.parse(t) };
  if (t.startsWith('`')) return { kind: 'literal', value: t.slice(1, -1) };
  if (/^-?\d+(\.\d+)?$/.test(t)) return { kind: 'literal', value: Number(t) };
  if (t === 'true' || t === 'false') return { kind: 'literal', value: t === 'true' };
  if (t === 'nil') return { kind: 'literal', value: null };
  if (t === '.') return { kind: 'field', base: 'dot', path: [] };
  if (t.startsWith('.')) return { kind: 'field', base: 'dot', path: t.slice(1).split('.') };
  if (t.startsWith('$')) {
    const [name, ...path] = t.split('.');
    return { kind: 'field', base: name === '$' ? 'root' : name!, path };
  }
  if (/^[A-Za-z_]\w*$/.test(t)) return { kind: 'ident', name: t };
  throw templateError(`unexpected "${t}"`);
}

function parsePipeline(tokens: string[], pos: { i: number }, stop?: string): Pipeline {
  const declare: string[] = [];
  // `$x := …` or `$k, $v := …`
  const assign = tokens.indexOf(':=', pos.i);
  if (assign > 0 && tokens.slice(pos.i, assign).every((t) => t === ',' || /^\$\w+$/.test(t))) {
    declare.push(...tokens.slice(pos.i, assign).filter((t) => t !== ','));
    pos.i = assign + 1;
  }
  const commands: Term[][] = [[]];
  while (pos.i < tokens.length && tokens[pos.i] !== stop) {
    if (tokens[pos.i] === '|') {
      pos.i++;
      commands.push([]);
      continue;
    }
    commands.at(-1)!.push(parseTerm(tokens, pos));
  }
  if (commands.some((c) => !c.length)) throw templateError('an empty command in a pipeline');
  return { declare, commands };
}

function parseTemplate(src: string): Node[] {
  // split into text and actions, applying {{- and -}} trimming
  const parts: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      parts.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '');
      start++;
    }
    parts.push({ text });
    const close = src.indexOf('}}', start);
    if (close < 0) throw templateError(`unclosed action at "${src.slice(open, open + 20)}"`);
    let end = close;
    let trimAfter = false;
    if (/\s-$/.test(src.slice(start, close))) {
      end = close - 1;
      trimAfter = true;
    }
    parts.push({ action: src.slice(start, end).trim() });
    i = close + 2;
    if (trimAfter) while (i < src.length && /\s/.test(src[i]!)) i++;
  }

  let p = 0;
  /** the node of a control or plain action, its body read from the parts that follow */
  const control = (action: string): Node => {
    const word = action.split(/\s+/)[0]!;
    const tokens = tokenize(action);
    if (word !== 'if' && word !== 'with' && word !== 'range') return { kind: 'action', pipe: parsePipeline(tokens, { i: 0 }) };
    const pipe = parsePipeline(tokens, { i: 1 });
    const body = block(['else', 'end']);
    let otherwise: Node[] = [];
    if (body.ended === 'else') otherwise = block(['end']).nodes;
    // `{{else if …}}` is an if inside the else that shares our {{end}}
    else if (body.ended.startsWith('else ')) otherwise = [control(body.ended.slice(5).trim())];
    if (word === 'range') return { kind: 'range', pipe: { declare: [], commands: pipe.commands }, vars: pipe.declare, body: body.nodes, else: otherwise };
    return { kind: word, pipe, then: body.nodes, else: otherwise };
  };
  const block = (ends: string[]): { nodes: Node[]; ended: string } => {
    const nodes: Node[] = [];
    while (p < parts.length) {
      const part = parts[p++]!;
      if ('text' in part) {
        if (part.text) nodes.push({ kind: 'text', text: part.text });
        continue;
      }
      const action = part.action;
      if (action.startsWith('/*')) continue;
      const word = action.split(/\s+/)[0]!;
      if (word === 'end' || word === 'else') {
        if (!ends.includes(word)) throw templateError(`unexpected {{${action}}}`);
        return { nodes, ended: action };
      }
      nodes.push(control(action));
    }
    if (ends.length) throw templateError('missing {{end}}');
    return { nodes, ended: '' };
  };
  return block([]).nodes;
}

// ——— evaluation ———

const NO_VALUE = Symbol('no value');

/** Go's %v */
export function goString(v: unknown): string {
  if (v === NO_VALUE || v === undefined) return '<no value>';
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    return `map[${Object.keys(v as object)
      .sort()
      .map((k) => `${k}:${goString((v as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  }
  return String(v);
}

function truthy(v: unknown): boolean {
  if (v === NO_VALUE || v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function field(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (cur === NO_VALUE || cur === null || cur === undefined) return NO_VALUE;
    if (typeof cur !== 'object') throw templateError(`can't evaluate field ${key} in type ${typeof cur}`);
    cur = key in (cur as object) ? (cur as Record<string, unknown>)[key] : NO_VALUE;
  }
  return cur;
}

function printf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+ 0#]*\d*(?:\.\d+)?)?([vsdqtfx%])/g, (_m, _flags: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const a = args[n++];
    if (verb === 'q') return JSON.stringify(goString(a));
    if (verb === 'd') return String(Math.trunc(Number(a)));
    if (verb === 'x') return Number(a).toString(16);
    return goString(a);
  });
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  json: (v) => (v === NO_VALUE ? 'null' : JSON.stringify(v ?? null)),
  index: (v, ...keys) => keys.reduce((cur: unknown, k) => (cur && typeof cur === 'object' ? ((cur as Record<string, unknown>)[String(k)] ?? NO_VALUE) : NO_VALUE), v),
  len: (v) => (typeof v === 'string' || Array.isArray(v) ? v.length : v && typeof v === 'object' ? Object.keys(v).length : 0),
  join: (v, sep) => (Array.isArray(v) ? v.map(goString).join(String(sep)) : goString(v)),
  split: (v, sep) => String(v).split(String(sep)),
  upper: (v) => goString(v).toUpperCase(),
  lower: (v) => goString(v).toLowerCase(),
  title: (v) => goString(v).replace(/\b\w/g, (c) => c.toUpperCase()),
  truncate: (v, n) => goString(v).slice(0, Number(n)),
  pad: (v, l, r) => `${' '.repeat(Number(l))}${goString(v)}${' '.repeat(Number(r))}`,
  print: (...a) => a.map(goString).join(' '),
  println: (...a) => `${a.map(goString).join(' ')}\n`,
  printf: (f, ...a) => printf(String(f), a),
  not: (v) => !truthy(v),
  and: (...a) => a.find((x) => !truthy(x)) ?? a.at(-1),
  or: (...a) => a.find((x) => truthy(x)) ?? a.at(-1),
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => (a as number) < (b as number),
  le: (a, b) => (a as number) <= (b as number),
  gt: (a, b) => (a as number) > (b as number),
  ge: (a, b) => (a as number) >= (b as number),
};

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Map<string, unknown>;
}

function evalTerm(t: Term, s: Scope, piped: unknown[]): unknown {
  switch (t.kind) {
    case 'literal':
      return t.value;
    case 'pipe':
      return field(evalPipeline(t.pipe, s), t.path);
    case 'field': {
      const base = t.base === 'dot' ? s.dot : t.base === 'root' ? s.root : s.vars.has(t.base) ? s.vars.get(t.base) : undefined;
      if (t.base !== 'dot' && t.base !== 'root' && !s.vars.has(t.base)) throw templateError(`undefined variable ${t.base}`);
      return field(base, t.path);
    }
    case 'ident': {
      const fn = FUNCTIONS[t.name];
      if (!fn) throw templateError(`function "${t.name}" not defined`);
      return fn(...piped);
    }
  }
}

function evalPipeline(pipe: Pipeline, s: Scope): unknown {
  let value: unknown = NO_VALUE;
  for (const [i, cmd] of pipe.commands.entries()) {
    const [head, ...rest] = cmd;
    const piped = i > 0 ? [value] : [];
    if (head!.kind === 'ident') value = evalTerm(head!, s, [...rest.map((r) => evalTerm(r, s, [])), ...piped]);
    else {
      if (rest.length) throw templateError('a value cannot take arguments');
      value = evalTerm(head!, s, []);
    }
  }
  for (const v of pipe.declare) s.vars.set(v, value);
  return value;
}

function run(nodes: Node[], s: Scope, out: string[]): void {
  for (const n of nodes) {
    switch (n.kind) {
      case 'text':
        out.push(n.text);
        break;
      case 'action': {
        const v = evalPipeline(n.pipe, s);
        if (!n.pipe.declare.length) out.push(goString(v));
        break;
      }
      case 'if':
      case 'with': {
        const v = evalPipeline(n.pipe, s);
        if (truthy(v)) run(n.then, n.kind === 'with' ? { ...s, dot: v } : s, out);
        else run(n.else, s, out);
        break;
      }
      case 'range': {
        const v = evalPipeline(n.pipe, s);
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : v && typeof v === 'object'
            ? Object.keys(v)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : [];
        if (!entries.length) run(n.else, s, out);
        for (const [k, x] of entries) {
          const vars = new Map(s.vars);
          if (n.vars.length === 1) vars.set(n.vars[0]!, x);
          if (n.vars.length === 2) {
            vars.set(n.vars[0]!, k);
            vars.set(n.vars[1]!, x);
          }
          run(n.body, { ...s, dot: x, vars }, out);
        }
        break;
      }
    }
  }
}

export interface CompiledTemplate {
  (data: unknown): string;
}

export function compileTemplate(src: string): CompiledTemplate {
  const nodes = parseTemplate(src);
  return (data) => {
    const out: string[] = [];
    run(nodes, { dot: data, root: data, vars: new Map([['$', data]]) }, out);
    return out.join('');
  };
}
