/** `--help` for every command and group, written from the same declarations the parser reads. */
import { HELP_FLAG, type CommandDef, type FlagDef } from './definition.js';

const PLACEHOLDER: Record<string, string> = { uint: 'int', int: 'int', number: 'decimal', bytes: 'bytes', time: 'string', string: 'string' };

function flagColumn(f: FlagDef): string {
  const names = f.short ? `-${f.short}, --${f.long}` : `    --${f.long}`;
  if (f.kind === 'bool') return names;
  return `${names} ${f.placeholder ?? (f.kind === 'list' ? 'list' : PLACEHOLDER[f.type ?? 'string'])}`;
}

function wrap(text: string, width: number, indent: number): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

export function renderHelp(def: CommandDef, path: string[]): string {
  const name = `mayfly ${path.join(' ')}`.trimEnd();
  const out: string[] = [];
  const subs = def.subcommands?.filter((s) => s.summary) ?? [];
  out.push(`Usage:  ${name}${def.usage ? ` ${def.usage}` : subs.length ? ' COMMAND' : ''}`, '', def.summary);
  if (def.description) out.push('', def.description);
  if (def.aliases?.length) out.push('', 'Aliases:', `  ${[def.name, ...def.aliases].map((a) => `${path.slice(0, -1).concat(a).join(' ')}`).join(', ')}`);
  if (subs.length) {
    const width = Math.max(...subs.map((s) => s.name.length)) + 3;
    out.push('', 'Commands:', ...subs.map((s) => `  ${s.name.padEnd(width)}${s.summary}`));
  }
  const flags = [...(def.flags ?? []), HELP_FLAG].filter((f) => !f.hidden);
  if (flags.length) {
    const cols = flags.map(flagColumn);
    const width = Math.min(34, Math.max(...cols.map((c) => c.length)) + 3);
    out.push('', 'Options:');
    for (const [i, f] of flags.entries()) {
      const col = cols[i]!;
      const text = `${f.help}${f.choices ? ` (${f.choices.join(', ')})` : ''}${f.default !== undefined ? ` (default ${f.default})` : ''}`;
      const pad = col.length + 2 >= width ? `\n${' '.repeat(width + 2)}` : ' '.repeat(width - col.length);
      out.push(`  ${col}${pad}${wrap(text, 100 - width, width + 2)}`);
    }
  }
  if (def.examples?.length) out.push('', 'Examples:', ...def.examples.map((e) => `  ${e}`));
  if (subs.length) out.push('', `Run '${name} COMMAND --help' for more information on a command.`);
  return `${out.join('\n')}\n`;
}
