/**
 * The verbs on the containers the keeper holds (src/keeper): stop, start, restart, pause, unpause,
 * kill, rm, container prune, logs, exec, port, stats. Those that only read (logs, port) read the
 * containers' records on disk; those that act ask the keeper, starting it when a stopped container
 * has to be brought back.
 */
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { existingKeeper, keeper, type KeeperConnection } from '../keeper/client.js';
import { followLogs, formatLogs, readLogs } from '../model/container-logs.js';
import type { ContainerStats, ExecResult } from '../model/container-types.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool, list, num, text } from './command-line/values.js';
import { findContainer, isRunning, listContainers, type ListedContainer } from './containers.js';
import { renderListing } from './output/listing.js';

/**
 * Runs `verb` on each named container (found on disk first: a wrong name needs no keeper); prints
 * each name as given; like Docker, goes on after a failure and fails at the end.
 */
async function eachContainer(verb: string, refs: string[], act: (c: ListedContainer, k: () => Promise<KeeperConnection>) => Promise<unknown>): Promise<number> {
  const all = listContainers();
  let failed = 0;
  for (const ref of refs) {
    try {
      await act(findContainer(ref, all), keeper);
      process.stdout.write(`${ref}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`mayfly ${verb}: ${(e as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

const stopOptions = (flags: ParsedCommand['flags']) => ({
  ...(num(flags, 'time') !== undefined ? { timeout: num(flags, 'time')! } : {}),
  ...(text(flags, 'signal') ? { signal: signalName(text(flags, 'signal')!) } : {}),
});

const notRunning = (c: ListedContainer) => new MayflyError('CONTAINER_STATE', `container ${c.name} is not running`);

/** `-s 9`, `-s KILL`, `-s SIGKILL` */
function signalName(s: string): string {
  if (/^\d+$/.test(s)) {
    const names: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 15: 'SIGTERM', 17: 'SIGCHLD', 18: 'SIGCONT', 19: 'SIGSTOP', 28: 'SIGWINCH' };
    const n = names[Number(s)];
    if (!n) throw new MayflyError('INVALID_OPTION', `invalid value "${s}" for -s, --signal: give a signal name (SIGHUP, SIGINT, SIGTERM, SIGKILL, SIGUSR1, …) or one of ${Object.keys(names).join(', ')}`);
    return n;
  }
  const name = s.toUpperCase().startsWith('SIG') ? s.toUpperCase() : `SIG${s.toUpperCase()}`;
  if (!/^SIG[A-Z0-9]+$/.test(name)) throw new MayflyError('INVALID_OPTION', `invalid value "${s}" for -s, --signal: expected a signal name like SIGTERM or a number`);
  return name;
}

export const stopCommand = ({ flags, args }: ParsedCommand) =>
  eachContainer('stop', args, async (c, k) => {
    if (isRunning(c)) await (await k()).request({ op: 'stop', container: c.id, ...stopOptions(flags) });
  });
export const restartCommand = ({ flags, args }: ParsedCommand) => eachContainer('restart', args, async (c, k) => (await k()).request({ op: 'restart', container: c.id, ...stopOptions(flags) }));
export async function startCommand({ flags, args }: ParsedCommand): Promise<number> {
  if (bool(flags, 'attach') || bool(flags, 'interactive')) {
    if (args.length > 1) throw new MayflyError('INVALID_OPTION', 'you cannot start and attach multiple containers at once', { hint: 'start them one at a time with -a, or all of them without it' });
    const { startAttachedCommand } = await import('./attach-commands.js');
    return startAttachedCommand(args[0]!, bool(flags, 'interactive'));
  }
  return eachContainer('start', args, async (c, k) => (await k()).request({ op: 'start', container: c.id }));
}
export const pauseCommand = ({ args }: ParsedCommand) =>
  eachContainer('pause', args, async (c, k) => {
    if (!isRunning(c)) throw notRunning(c);
    await (await k()).request({ op: 'pause', container: c.id });
  });
export const unpauseCommand = ({ args }: ParsedCommand) =>
  eachContainer('unpause', args, async (c, k) => {
    if (c.status !== 'paused') throw new MayflyError('CONTAINER_STATE', `container ${c.name} is not paused`);
    await (await k()).request({ op: 'unpause', container: c.id });
  });
export const killCommand = ({ flags, args }: ParsedCommand) => {
  const signal = signalName(text(flags, 'signal') ?? 'SIGKILL');
  return eachContainer('kill', args, async (c, k) => {
    if (!isRunning(c)) throw notRunning(c);
    await (await k()).request({ op: 'kill', container: c.id, signal });
  });
};
export const rmCommand = ({ flags, args }: ParsedCommand) =>
  eachContainer('rm', args, async (c, k) => {
    if (isRunning(c) && !bool(flags, 'force')) throw new MayflyError('CONTAINER_STATE', `cannot remove container ${c.name}: it is running`, { hint: 'stop it first, or use rm -f' });
    await (await k()).request({ op: 'remove', container: c.id, force: bool(flags, 'force'), volumes: bool(flags, 'volumes') });
  });

/** `mayfly container prune`: removes every stopped container. */
export async function containerPruneCommand(): Promise<number> {
  const stopped = listContainers().filter((c) => !isRunning(c));
  const removed = stopped.length ? await (await keeper()).request<string[]>({ op: 'prune' }) : [];
  process.stdout.write(`Deleted Containers:\n${removed.map((id) => `${id}\n`).join('')}\nTotal reclaimed: ${removed.length} container(s)\n`);
  return 0;
}

/** Docker's --since/--until: an RFC 3339 date, a Unix timestamp, or a duration before now (10m, 1h30m). */
export function parseLogTime(value: string, flag: string, now = Date.now()): Date {
  if (/^-?\d+(\.\d+)?$/.test(value)) return new Date(Number(value) * 1000);
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length && parts.map((p) => p[0]).join('') === value) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return new Date(now - parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2]!]!, 0));
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new MayflyError('INVALID_OPTION', `invalid value "${value}" for ${flag}: expected a date (2024-05-01T10:00:00Z), a Unix timestamp or a duration like 10m`);
  return new Date(t);
}

export async function logsCommand({ flags, args }: ParsedCommand): Promise<number> {
  const c = findContainer(args[0]!);
  const path = join(c.dir, 'log.jsonl');
  const timestamps = bool(flags, 'timestamps');
  const since = text(flags, 'since') !== undefined ? parseLogTime(text(flags, 'since')!, '--since') : undefined;
  const until = text(flags, 'until') !== undefined ? parseLogTime(text(flags, 'until')!, '--until') : undefined;
  const tailFlag = text(flags, 'tail');
  if (tailFlag !== undefined && tailFlag !== 'all' && !/^-?\d+$/.test(tailFlag)) throw new MayflyError('INVALID_OPTION', `invalid value "${tailFlag}" for -n, --tail: expected a number of lines or "all"`);
  const tail = tailFlag === undefined || tailFlag === 'all' || Number(tailFlag) < 0 ? undefined : Number(tailFlag);
  const write = (entries: Awaited<ReturnType<typeof readLogs>>) => {
    for (const e of entries) {
      if (until && e.time > until.toISOString()) continue;
      (e.stream === 'stdout' ? process.stdout : process.stderr).write(formatLogs([e], timestamps));
    }
  };
  const entries = await readLogs(path, since ? { since } : {});
  const bounded = until ? entries.filter((e) => e.time <= until.toISOString()) : entries;
  write(tail !== undefined ? bounded.slice(bounded.length - Math.min(tail, bounded.length)) : bounded);
  if (!bool(flags, 'follow') || !isRunning(c) || (until && until.getTime() <= Date.now())) return 0;
  const ac = new AbortController();
  const end = () => ac.abort();
  process.once('SIGINT', end);
  const follower = followLogs(path, (e) => write([e]), ac.signal, false);
  // until it exits (its last lines are on disk before its record says so): then read to the end
  const watch = setInterval(() => {
    const now = listContainers().find((x) => x.id === c.id);
    if (now && isRunning(now) && !(until && until.getTime() <= Date.now())) return;
    clearInterval(watch);
    void follower.drain().then(end);
  }, 250);
  await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
  clearInterval(watch);
  process.off('SIGINT', end);
  return 0;
}

export async function execCommand({ flags, args }: ParsedCommand): Promise<number> {
  const [ref, ...command] = args;
  const c = findContainer(ref!);
  if (!isRunning(c)) throw notRunning(c);
  const env: Record<string, string> = {};
  for (const kv of list(flags, 'env')) {
    const i = kv.indexOf('=');
    if (i < 0) {
      if (process.env[kv] !== undefined) env[kv] = process.env[kv]!;
    } else env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const user = text(flags, 'user');
  const workdir = text(flags, 'workdir');
  // streamed as Docker streams it (`exec app tail -f log` shows lines as they come), through the keeper's attach stream
  const { execAttachedCommand } = await import('./attach-commands.js');
  return execAttachedCommand(c.id, command, { env, ...(user ? { user } : {}), ...(workdir ? { workingDir: workdir } : {}), interactive: bool(flags, 'interactive'), tty: bool(flags, 'tty') });
}

export function portCommand({ args }: ParsedCommand): number {
  const [ref, which] = args;
  const c = findContainer(ref!);
  const [port, proto = 'tcp'] = (which ?? '').split('/');
  const ports = c.ports ?? [];
  const shown = ports.filter((p) => !which || (String(p.containerPort) === port && p.protocol === proto));
  if (which && !shown.length) throw new MayflyError('INVALID_OPTION', `no public port '${which}' published for ${c.name}`);
  for (const p of shown) process.stdout.write(which ? `${p.hostIp}:${p.hostPort}\n` : `${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
  return 0;
}

const STATS_COLUMNS: [string, string][] = [
  ['ID', 'CONTAINER ID'],
  ['Name', 'NAME'],
  ['CPUTime', 'CPU TIME'],
  ['MemUsage', 'MEM USAGE / LIMIT'],
  ['PIDs', 'PIDS'],
];

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)}MiB`;

async function statsRows(refs: string[], all: boolean, noTrunc: boolean): Promise<Record<string, unknown>[]> {
  const containers = listContainers();
  const chosen = refs.length ? refs.map((ref) => findContainer(ref, containers)) : containers.filter((c) => all || isRunning(c));
  const k = chosen.some(isRunning) ? await existingKeeper() : undefined;
  const rows: Record<string, unknown>[] = [];
  for (const c of chosen) {
    const s = isRunning(c) && k ? await k.request<ContainerStats>({ op: 'stats', container: c.id }).catch(() => undefined) : undefined;
    const mem = s?.memoryBytes === undefined ? '0B / 0B' : `${mib(s.memoryBytes)} / ${s.memoryLimit ? mib(s.memoryLimit) : '--'}`;
    rows.push({
      ID: noTrunc ? c.id : c.id.slice(0, 12),
      Container: c.name,
      Name: c.name,
      CPUTime: s?.cpuNs === undefined ? '--' : `${(s.cpuNs / 1e9).toFixed(2)}s`,
      MemUsage: mem,
      PIDs: String(s?.pids ?? 0),
    });
  }
  return rows;
}

/** `mayfly stats`: a sample per second until Ctrl-C, or one with --no-stream. */
export async function statsCommand({ flags, args }: ParsedCommand): Promise<number> {
  const render = async () =>
    renderListing(await statsRows(args, bool(flags, 'all'), bool(flags, 'no-trunc')), { columns: STATS_COLUMNS, quietField: 'ID', headers: { Container: 'CONTAINER' } }, { format: text(flags, 'format') });
  if (bool(flags, 'no-stream')) {
    process.stdout.write(await render());
    return 0;
  }
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  while (!ac.signal.aborted) {
    const out = await render();
    process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${out}` : out);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return 0;
}
