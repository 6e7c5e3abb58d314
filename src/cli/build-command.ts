/** `mayfly build` and `mayfly import`: images made in this process's sandbox (flags declared in commands.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import type { BuildStep } from '../dockerfile/builder.js';
import { Runtime } from '../engine/runtime.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, list, text } from './command-line/values.js';

function pairs(list: string[], flag: string, fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const i = a.indexOf('=');
    if (i === 0) throw new MayflyError('INVALID_OPTION', `${flag} expects KEY=VALUE, got "${a}"`);
    if (i < 0) {
      if (!fromEnv) throw new MayflyError('INVALID_OPTION', `${flag} expects KEY=VALUE, got "${a}"`);
      // `--build-arg NAME` takes the value from this environment, and is left out when it is unset (as Docker does)
      const v = process.env[a];
      if (v !== undefined) out[a] = v;
      continue;
    }
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  return out;
}

/** `--secret id=npmrc,src=$HOME/.npmrc` | `id=token,env=TOKEN` | `id=TOKEN` (the variable of that name). */
export function parseSecret(spec: string): [string, { src: string } | { env: string }] {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new MayflyError('INVALID_OPTION', `--secret ${spec}: "${part}" is not key=value`, { hint: 'write --secret id=ID,src=FILE or --secret id=ID,env=VARIABLE' });
    fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const id = fields.get('id');
  if (!id) throw new MayflyError('INVALID_OPTION', `--secret ${spec} has no id=`, { hint: 'write --secret id=ID,src=FILE' });
  const type = fields.get('type');
  if (type !== undefined && type !== 'file' && type !== 'env') throw new MayflyError('INVALID_OPTION', `--secret ${spec}: type=${type} is not file or env`);
  for (const k of fields.keys()) if (!['id', 'type', 'src', 'source', 'env'].includes(k)) throw new MayflyError('INVALID_OPTION', `--secret ${spec}: unknown key ${k}`);
  const src = fields.get('src') ?? fields.get('source');
  if (src) return [id, { src: resolve(src) }];
  return [id, { env: fields.get('env') ?? id }];
}

export async function buildCommand({ flags, args }: ParsedCommand): Promise<number> {
  // --progress and --compression are checked against their choices by the parser
  const progress = bool(flags, 'quiet') ? 'quiet' : (text(flags, 'progress') ?? 'auto');
  const compression = (text(flags, 'compression') ?? 'gzip') as 'gzip' | 'zstd';
  const file = text(flags, 'file');
  const dockerfileText = file === '-' ? readFileSync(0, 'utf8') : undefined;
  const secrets = Object.fromEntries(list(flags, 'secret').map(parseSecret));
  const target = text(flags, 'target');
  const iidfile = text(flags, 'iidfile');
  const live = progress === 'tty' || (progress === 'auto' && process.stderr.isTTY === true);
  const view = progress === 'quiet' ? undefined : live ? new LiveView() : new PlainView();
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    const rec = await rt.build({
      context: resolve(args[0]!),
      ...(file && file !== '-' ? { dockerfile: resolve(file) } : {}),
      ...(dockerfileText !== undefined ? { dockerfileText } : {}),
      tag: list(flags, 'tag'),
      ...(target ? { target } : {}),
      buildArgs: pairs(list(flags, 'build-arg'), '--build-arg', true),
      labels: pairs(list(flags, 'label'), '--label', false),
      secrets,
      noCache: bool(flags, 'no-cache'),
      pull: bool(flags, 'pull'),
      compression,
      ...(view
        ? {
            onStep: (s: BuildStep) => view.step(s),
            onStepEnd: (s: BuildStep & { ms: number }) => view.end(s),
            onOutput: (_stream: 'stdout' | 'stderr', data: Uint8Array) => view.output(data),
            onWarning: (m: string) => view.warn(m),
          }
        : { onWarning: (m: string) => process.stderr.write(`mayfly: warning: ${m}\n`) }),
    });
    view?.close();
    if (iidfile) writeFileSync(resolve(iidfile), rec.id);
    process.stdout.write(`${rec.id}\n`);
    return 0;
  } catch (e) {
    view?.close();
    throw e;
  } finally {
    await rt.close();
  }
}

interface BuildView {
  step(s: BuildStep): void;
  end(s: BuildStep & { ms: number }): void;
  output(data: Uint8Array): void;
  warn(message: string): void;
  close(): void;
}

/** the terminal's width (a pty may say 0) */
const columns = () => process.stderr.columns || 100;

const label = (s: BuildStep) => `[${s.stage} ${s.index}/${s.total}] ${s.text.split('\n')[0]}`;

/** One line per step and the steps' output as it comes: for logs and CI. */
class PlainView implements BuildView {
  step(s: BuildStep): void {
    process.stderr.write(`#${s.index} ${label(s)}${s.cached ? '\n#' + s.index + ' CACHED' : ''}\n`);
  }
  end(s: BuildStep & { ms: number }): void {
    process.stderr.write(`#${s.index} DONE ${(s.ms / 1000).toFixed(1)}s\n`);
  }
  output(data: Uint8Array): void {
    process.stderr.write(data);
  }
  warn(message: string): void {
    process.stderr.write(`mayfly: warning: ${message}\n`);
  }
  close(): void {}
}

/**
 * On a terminal: the steps that are running, redrawn in place with their time and last output line;
 * a finished step leaves one line behind.
 */
class LiveView implements BuildView {
  private readonly running = new Map<number, { s: BuildStep; started: number; last: string }>();
  private drawn = 0;
  private readonly timer = setInterval(() => this.draw(), 100);
  private current: number | undefined;

  step(s: BuildStep): void {
    if (s.cached || s.metadata || s.text.startsWith('FROM')) {
      this.print(`=> ${s.cached ? 'CACHED ' : ''}${label(s)}`);
      return;
    }
    this.running.set(s.index, { s, started: performance.now(), last: '' });
    this.current = s.index;
    this.draw();
  }
  end(s: BuildStep & { ms: number }): void {
    this.running.delete(s.index);
    this.print(`=> ${label(s)}  ${(s.ms / 1000).toFixed(1)}s`);
  }
  output(data: Uint8Array): void {
    const lines = Buffer.from(data).toString().split('\n').filter((l) => l.trim());
    const r = this.current !== undefined ? this.running.get(this.current) : undefined;
    if (r && lines.length) r.last = lines[lines.length - 1]!.slice(0, columns() - 8);
  }
  warn(message: string): void {
    this.print(`mayfly: warning: ${message}`);
  }
  close(): void {
    clearInterval(this.timer);
    this.clear();
  }
  private clear(): void {
    if (this.drawn) process.stderr.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }
  private print(line: string): void {
    this.clear();
    process.stderr.write(`${line}\n`);
    this.draw();
  }
  private draw(): void {
    this.clear();
    const cols = columns();
    const lines: string[] = [];
    for (const r of this.running.values()) {
      lines.push(`=> ${label(r.s)}  ${((performance.now() - r.started) / 1000).toFixed(1)}s`.slice(0, cols - 1));
      if (r.last) lines.push(`   ${r.last}`.slice(0, cols - 1));
    }
    if (lines.length) process.stderr.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }
}

export async function importCommand({ args }: ParsedCommand): Promise<number> {
  const rt = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    process.stdout.write(`${(await rt.importRootfs(resolve(args[0]!), args[1]!)).id}\n`);
    return 0;
  } finally {
    await rt.close();
  }
}
