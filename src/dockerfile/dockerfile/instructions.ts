/**
 * Each instruction's own syntax: its flags (unknown ones are errors), exec (JSON) or shell form,
 * KEY=VALUE pairs. Values stay as written: variables are expanded at build time, with the values
 * the stage has at that point.
 */
import { dockerfileError } from './errors.js';
import type { Heredoc, RawInstruction } from './lexer.js';
import { jsonArray, splitRaw } from './words.js';

/** The exec form (`["a", "b"]`) or the shell form (a command line for the stage's SHELL). */
export type CommandForm = { exec: string[] } | { shell: string };

interface Base {
  line: number;
  endLine: number;
  /** the instruction as written (continuations joined), for the history and progress */
  text: string;
}

export interface FromInstruction extends Base {
  kind: 'FROM';
  image: string;
  /** lower case, as stage names are compared */
  stageName?: string;
  platform?: string;
}
export interface ArgInstruction extends Base {
  kind: 'ARG';
  args: { name: string; default?: string }[];
}
export interface RunInstruction extends Base {
  kind: 'RUN';
  command: CommandForm;
  /** `--mount=` specs as written */
  mounts: string[];
  network?: 'default' | 'none' | 'host';
  heredocs: Heredoc[];
}
export interface CopyInstruction extends Base {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  from?: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  checksum?: string;
  heredocs: Heredoc[];
}
export interface PairsInstruction extends Base {
  kind: 'ENV' | 'LABEL';
  pairs: [string, string][];
}
export interface ValueInstruction extends Base {
  kind: 'WORKDIR' | 'USER' | 'STOPSIGNAL' | 'MAINTAINER';
  value: string;
}
export interface ExposeInstruction extends Base {
  kind: 'EXPOSE';
  ports: string;
}
export interface CommandInstruction extends Base {
  kind: 'CMD' | 'ENTRYPOINT';
  command: CommandForm;
}
export interface VolumeInstruction extends Base {
  kind: 'VOLUME';
  paths: string[];
}
export interface HealthcheckInstruction extends Base {
  kind: 'HEALTHCHECK';
  test: CommandForm | 'NONE';
  options: { interval?: number; timeout?: number; startPeriod?: number; startInterval?: number; retries?: number };
}
export interface ShellInstruction extends Base {
  kind: 'SHELL';
  shell: string[];
}
export interface OnbuildInstruction extends Base {
  kind: 'ONBUILD';
  /** the instruction to run in builds FROM this image, as written */
  trigger: string;
}

export type Instruction =
  | FromInstruction
  | ArgInstruction
  | RunInstruction
  | CopyInstruction
  | PairsInstruction
  | ValueInstruction
  | ExposeInstruction
  | CommandInstruction
  | VolumeInstruction
  | HealthcheckInstruction
  | ShellInstruction
  | OnbuildInstruction;

export const KEYWORDS = ['FROM', 'ARG', 'RUN', 'COPY', 'ADD', 'ENV', 'LABEL', 'WORKDIR', 'USER', 'STOPSIGNAL', 'MAINTAINER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'VOLUME', 'HEALTHCHECK', 'SHELL', 'ONBUILD'] as const;

const FLAGS: Record<string, Record<string, 'value' | 'bool' | 'list'>> = {
  FROM: { platform: 'value' },
  RUN: { mount: 'list', network: 'value', security: 'value' },
  COPY: { from: 'value', chown: 'value', chmod: 'value', link: 'bool' },
  ADD: { chown: 'value', chmod: 'value', link: 'bool', checksum: 'value' },
  HEALTHCHECK: { interval: 'value', timeout: 'value', 'start-period': 'value', 'start-interval': 'value', retries: 'value' },
};

/** What a flag's value may not be, and what to do instead. */
const REFUSED_FLAGS: Record<string, string> = {
  'COPY --parents': 'COPY --parents (a labs feature) is not supported: copy each directory with its own COPY',
  'COPY --exclude': 'COPY --exclude (a labs feature) is not supported: exclude the files in .dockerignore',
  'ADD --keep-git-dir': 'ADD of git repositories is not supported: clone the repository into the build context',
};

type ParsedFlags = Record<string, string | string[] | true>;

function parseFlags(raw: RawInstruction): ParsedFlags {
  const known = FLAGS[raw.keyword] ?? {};
  const out: ParsedFlags = {};
  for (const f of raw.flags) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=([\s\S]*))?$/.exec(f)!;
    const name = m[1]!.toLowerCase();
    const kind = known[name];
    const refused = REFUSED_FLAGS[`${raw.keyword} --${name}`];
    if (refused) throw dockerfileError(raw.line, refused);
    if (!kind) {
      const list = Object.keys(known).map((k) => `--${k}`);
      throw dockerfileError(raw.line, `${raw.keyword} has no flag --${name}`, list.length ? `${raw.keyword} takes ${list.join(', ')}` : `${raw.keyword} takes no flags`);
    }
    const value = m[2];
    if (kind === 'bool') {
      if (value !== undefined && !/^(true|false)$/i.test(value)) throw dockerfileError(raw.line, `--${name} is true or false, not "${value}"`);
      if (value === undefined || value.toLowerCase() === 'true') out[name] = true;
      continue;
    }
    if (value === undefined || value === '') throw dockerfileError(raw.line, `--${name} needs a value: --${name}=…`);
    if (kind === 'list') out[name] = [...((out[name] as string[] | undefined) ?? []), value];
    else {
      if (out[name] !== undefined) throw dockerfileError(raw.line, `--${name} is given twice`);
      out[name] = value;
    }
  }
  return out;
}

const str = (v: string | string[] | true | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function commandForm(raw: RawInstruction, what: string): CommandForm {
  const exec = jsonArray(raw.rest);
  if (exec) {
    if (!exec.length && what !== 'CMD' && what !== 'ENTRYPOINT') throw dockerfileError(raw.line, `${what} [] has no command`);
    return { exec };
  }
  if (!raw.rest.trim()) throw dockerfileError(raw.line, `${what} needs a command`, `${what} ["program", "arg"] or ${what} a shell command line`);
  return { shell: raw.rest };
}

/** `KEY=VALUE ...`, or the legacy `KEY VALUE` (one pair, the value is the rest of the line). */
function pairs(raw: RawInstruction, escape: string): [string, string][] {
  const words = splitRaw(raw.rest, escape);
  if (!words.length) throw dockerfileError(raw.line, `${raw.keyword} needs KEY=VALUE`);
  if (!words[0]!.includes('=')) {
    const value = raw.rest.slice(raw.rest.indexOf(words[0]!) + words[0]!.length).trim();
    if (raw.keyword === 'ENV' && !value) throw dockerfileError(raw.line, `ENV ${words[0]} needs a value`, `write ENV ${words[0]}=VALUE`);
    return [[words[0]!, value]];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i <= 0) throw dockerfileError(raw.line, `${raw.keyword} expects KEY=VALUE, got "${w}"`, 'quote values that hold spaces: KEY="a b"');
    return [w.slice(0, i), w.slice(i + 1)] as [string, string];
  });
}

const DURATION = /^(?:(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns))+$/;
const UNIT_NS: Record<string, number> = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3, µs: 1e3, ns: 1 };

/** Go's time.ParseDuration subset Docker accepts: `30s`, `1m30s`, `500ms` → nanoseconds. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * UNIT_NS[m[2]!]!;
  return Math.round(total);
}

export function parseInstruction(raw: RawInstruction, escape: string): Instruction {
  const base = { line: raw.line, endLine: raw.endLine, text: raw.text };
  if (!(KEYWORDS as readonly string[]).includes(raw.keyword)) {
    throw dockerfileError(raw.line, `unknown instruction ${raw.keyword}`, `the instructions are ${KEYWORDS.join(', ')}`);
  }
  const flags = parseFlags(raw);
  const rest = raw.rest;
  switch (raw.keyword) {
    case 'FROM': {
      const words = splitRaw(rest, escape);
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') {
        const name = words[2]!.toLowerCase();
        if (!/^[a-z][a-z0-9_.-]*$/.test(name)) throw dockerfileError(raw.line, `"${words[2]}" is not a valid stage name`, 'stage names start with a letter and use letters, digits, _ . -');
        return { kind: 'FROM', ...base, image: words[0]!, stageName: name, ...(str(flags.platform) ? { platform: str(flags.platform)! } : {}) };
      }
      if (words.length !== 1) throw dockerfileError(raw.line, `FROM takes an image and optionally "AS name", got "${rest}"`, 'write FROM image[:tag] [AS name]');
      return { kind: 'FROM', ...base, image: words[0]!, ...(str(flags.platform) ? { platform: str(flags.platform)! } : {}) };
    }
    case 'ARG': {
      const words = splitRaw(rest, escape);
      if (!words.length) throw dockerfileError(raw.line, 'ARG needs a name', 'write ARG NAME or ARG NAME=default');
      return {
        kind: 'ARG',
        ...base,
        args: words.map((w) => {
          const i = w.indexOf('=');
          const name = i < 0 ? w : w.slice(0, i);
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw dockerfileError(raw.line, `"${name}" is not a valid ARG name`, 'names use letters, digits and _');
          return i < 0 ? { name } : { name, default: w.slice(i + 1) };
        }),
      };
    }
    case 'RUN': {
      const network = str(flags.network);
      if (network !== undefined && !['default', 'none', 'host'].includes(network)) throw dockerfileError(raw.line, `RUN --network=${network}: use default, none or host`);
      const security = str(flags.security);
      if (security !== undefined && security !== 'sandbox') throw dockerfileError(raw.line, `RUN --security=${security} is not supported`, 'RUN steps run unprivileged in the user namespace; drop the flag');
      return {
        kind: 'RUN',
        ...base,
        command: commandForm(raw, 'RUN'),
        mounts: (flags.mount as string[] | undefined) ?? [],
        ...(network ? { network: network as 'default' | 'none' | 'host' } : {}),
        heredocs: raw.heredocs,
      };
    }
    case 'COPY':
    case 'ADD': {
      const words = jsonArray(rest) ?? splitRaw(rest, escape);
      if (words.length < 2) throw dockerfileError(raw.line, `${raw.keyword} needs at least one source and a destination`, `write ${raw.keyword} SOURCE... DEST`);
      const sources = words.slice(0, -1);
      const heredocNames = new Set(raw.heredocs.map((h) => h.name));
      // a heredoc source is written `<<EOF` (or `<<-EOF`, `<<"EOF"`): name it by its terminator
      const named = sources.map((s) => {
        const m = /^<<-?\s*["']?([A-Za-z0-9_.-]+)["']?$/.exec(s);
        return m && heredocNames.has(m[1]!) ? `<<${m[1]}` : s;
      });
      const checksum = str(flags.checksum);
      return {
        kind: raw.keyword,
        ...base,
        sources: named,
        dest: words[words.length - 1]!,
        ...(str(flags.from) ? { from: str(flags.from)! } : {}),
        ...(str(flags.chown) ? { chown: str(flags.chown)! } : {}),
        ...(str(flags.chmod) ? { chmod: str(flags.chmod)! } : {}),
        ...(checksum ? { checksum } : {}),
        link: flags.link === true,
        heredocs: raw.heredocs,
      };
    }
    case 'ENV':
    case 'LABEL':
      return { kind: raw.keyword, ...base, pairs: pairs(raw, escape) };
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL':
    case 'MAINTAINER':
      if (!rest.trim()) throw dockerfileError(raw.line, `${raw.keyword} needs a value`);
      return { kind: raw.keyword, ...base, value: rest.trim() };
    case 'EXPOSE':
      if (!rest.trim()) throw dockerfileError(raw.line, 'EXPOSE needs a port', 'write EXPOSE 8080 or EXPOSE 53/udp');
      return { kind: 'EXPOSE', ...base, ports: rest };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: raw.keyword, ...base, command: commandForm(raw, raw.keyword) };
    case 'VOLUME': {
      const paths = jsonArray(rest) ?? splitRaw(rest, escape);
      if (!paths.length || paths.some((p) => !p)) throw dockerfileError(raw.line, 'VOLUME needs a path');
      return { kind: 'VOLUME', ...base, paths };
    }
    case 'HEALTHCHECK': {
      const options: HealthcheckInstruction['options'] = {};
      for (const [flag, key] of [['interval', 'interval'], ['timeout', 'timeout'], ['start-period', 'startPeriod'], ['start-interval', 'startInterval']] as const) {
        const v = str(flags[flag]);
        if (v === undefined) continue;
        const ns = parseDuration(v);
        if (ns === undefined) throw dockerfileError(raw.line, `HEALTHCHECK --${flag}=${v} is not a duration`, 'write a duration like 30s, 1m30s or 500ms');
        options[key] = ns;
      }
      const retries = str(flags.retries);
      if (retries !== undefined) {
        if (!/^\d+$/.test(retries)) throw dockerfileError(raw.line, `HEALTHCHECK --retries=${retries} is not a whole number`);
        options.retries = Number(retries);
      }
      const words = rest.trim();
      if (/^NONE$/i.test(words)) {
        if (raw.flags.length) throw dockerfileError(raw.line, 'HEALTHCHECK NONE takes no options');
        return { kind: 'HEALTHCHECK', ...base, test: 'NONE', options };
      }
      const m = /^CMD(?:\s+([\s\S]*))?$/i.exec(words);
      if (!m || !m[1]?.trim()) throw dockerfileError(raw.line, 'HEALTHCHECK needs CMD and a command, or NONE', 'write HEALTHCHECK --interval=5s CMD curl -f http://localhost/');
      return { kind: 'HEALTHCHECK', ...base, test: commandForm({ ...raw, rest: m[1].trim() }, 'HEALTHCHECK CMD'), options };
    }
    case 'SHELL': {
      const shell = jsonArray(rest);
      if (!shell?.length) throw dockerfileError(raw.line, 'SHELL takes the JSON form', 'write SHELL ["/bin/bash", "-c"]');
      return { kind: 'SHELL', ...base, shell };
    }
    case 'ONBUILD': {
      const trigger = rest.trim();
      const keyword = /^\S+/.exec(trigger)?.[0]?.toUpperCase();
      if (!keyword) throw dockerfileError(raw.line, 'ONBUILD needs an instruction');
      if (keyword === 'ONBUILD' || keyword === 'FROM' || keyword === 'MAINTAINER') throw dockerfileError(raw.line, `ONBUILD ${keyword} is not allowed`);
      if (!(KEYWORDS as readonly string[]).includes(keyword)) throw dockerfileError(raw.line, `ONBUILD ${keyword}: unknown instruction`);
      return { kind: 'ONBUILD', ...base, trigger };
    }
  }
  throw dockerfileError(raw.line, `unknown instruction ${raw.keyword}`);
}
