/**
 * Containers started with `mayfly run -d` live in the keeper (src/keeper), a detached process of
 * this MAYFLY_HOME; these commands drive them: ps, stop, start, restart, pause, unpause, kill, rm,
 * logs, exec, port.
 */
import { join } from 'node:path';
import { MayflyError } from '../errors.js';
import { existingKeeper, keeper, type KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { followLogs, formatLogs, readLogs } from '../runtime/logs.js';
import type { ContainerOptions } from '../runtime/runtime.js';
import type { ContainerStats, ExecResult } from '../runtime/sandbox/protocol.js';
import { formatPorts } from '../runtime/addresses.js';
import { parseFlags } from './args.js';
import { printTable } from './table.js';

/** `mayfly run -d`: prints the new container's ID, as Docker does. */
export async function runDetached(spec: ContainerOptions): Promise<number> {
  const k = await keeper();
  const key = `detached-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const c = await k.request<KeptContainer>({ op: 'ensure', key, options: spec, detached: true });
  process.stdout.write(`${c.id}\n`);
  for (const p of c.ports) process.stderr.write(`mayfly: ${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
  return 0;
}

async function connected(): Promise<KeeperConnection> {
  const k = await existingKeeper();
  if (!k) throw new MayflyError('CONTAINER_NOT_FOUND', 'no containers: none was started with `mayfly run -d`');
  return k;
}

function status(c: KeptContainer): string {
  if (c.status === 'exited') return `Exited (${c.exitCode ?? 0})`;
  if (c.status === 'paused') return 'Up (Paused)';
  return c.status === 'running' ? 'Up' : 'Created';
}

export async function psCommand(argv: string[]): Promise<number> {
  const { flags } = parseFlags(argv, [
    { names: ['-a', '--all'], kind: 'boolean', key: 'all' },
    { names: ['-q', '--quiet'], kind: 'boolean', key: 'quiet' },
  ], 'ps');
  const k = await existingKeeper();
  const all = k ? await k.request<KeptContainer[]>({ op: 'list' }) : [];
  const shown = all.filter((c) => flags.all || c.status === 'running' || c.status === 'paused');
  if (flags.quiet) printTable(shown.map((c) => [c.id.slice(0, 12)]));
  else {
    const command = (c: KeptContainer) => {
      const text = c.command.join(' ');
      return JSON.stringify(text.length > 20 ? `${text.slice(0, 19)}…` : text);
    };
    printTable([
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'STATUS', 'PORTS', 'NAMES'],
      ...shown.map((c) => [c.id.slice(0, 12), c.image ?? '<rootfs>', command(c), status(c), formatPorts(c.ports), c.name]),
    ]);
  }
  return 0;
}

/** stop / start / restart / pause / unpause / kill / rm on each named container; prints each name. */
export async function lifecycleCommand(verb: 'stop' | 'start' | 'restart' | 'pause' | 'unpause' | 'kill' | 'rm', argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [
    { names: ['-t', '--time', '--timeout'], kind: 'string', key: 'time' },
    { names: ['-s', '--signal'], kind: 'string', key: 'signal' },
    { names: ['-f', '--force'], kind: 'boolean', key: 'force' },
  ], verb);
  if (!rest.length) throw new MayflyError('INVALID_OPTION', `usage: mayfly ${verb} CONTAINER...`);
  const k = await connected();
  const timeout = flags.time !== undefined ? Number(flags.time) : undefined;
  if (timeout !== undefined && !Number.isFinite(timeout)) throw new MayflyError('INVALID_OPTION', `--time expects seconds, got "${flags.time}"`);
  let failed = 0;
  for (const ref of rest) {
    try {
      const c = await k.request<KeptContainer>({ op: 'describe', container: ref });
      if (verb === 'rm') {
        if ((c.status === 'running' || c.status === 'paused') && !flags.force) {
          throw new MayflyError('CONTAINER_STATE', `container ${c.name} is running`, { hint: 'stop it first, or use rm -f' });
        }
        await k.request({ op: 'remove', container: c.id });
      } else if (verb === 'kill') await k.request({ op: 'kill', container: c.id, signal: (flags.signal as string | undefined) ?? 'SIGKILL' });
      else if (verb === 'stop' || verb === 'restart') await k.request({ op: verb, container: c.id, ...(timeout !== undefined ? { timeout } : {}) });
      else await k.request({ op: verb, container: c.id });
      process.stdout.write(`${ref}\n`);
    } catch (e) {
      failed++;
      process.stderr.write(`mayfly ${verb}: ${(e as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

export async function logsCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [
    { names: ['-f', '--follow'], kind: 'boolean', key: 'follow' },
    { names: ['-t', '--timestamps'], kind: 'boolean', key: 'timestamps' },
    { names: ['-n', '--tail'], kind: 'string', key: 'tail' },
  ], 'logs');
  if (rest.length !== 1) throw new MayflyError('INVALID_OPTION', 'usage: mayfly logs [-f] [-t] [--tail N] CONTAINER');
  const k = await connected();
  const c = await k.request<KeptContainer>({ op: 'describe', container: rest[0]! });
  const path = join(c.dir, 'log.jsonl');
  const write = (entries: Awaited<ReturnType<typeof readLogs>>) => {
    for (const e of entries) (e.stream === 'stdout' ? process.stdout : process.stderr).write(formatLogs([e], Boolean(flags.timestamps)));
  };
  const tail = flags.tail !== undefined ? Number(flags.tail) : undefined;
  write(await readLogs(path, tail !== undefined ? { tail } : {}));
  if (!flags.follow || c.status === 'exited') return 0;
  const ac = new AbortController();
  const end = () => ac.abort();
  process.once('SIGINT', end);
  k.exits.set(c.id, () => setTimeout(end, 150)); // the last lines are on disk before the exit is reported
  followLogs(path, (e) => write([e]), ac.signal, false);
  await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
  process.off('SIGINT', end);
  return 0;
}

export async function execCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [
    { names: ['-e', '--env'], kind: 'list', key: 'env' },
    { names: ['-u', '--user'], kind: 'string', key: 'user' },
    { names: ['-w', '--workdir'], kind: 'string', key: 'workdir' },
  ], 'exec');
  const [ref, ...command] = rest;
  if (!ref || !command.length) throw new MayflyError('INVALID_OPTION', 'usage: mayfly exec [-e K=V] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]');
  const k = await connected();
  const env = Object.fromEntries(((flags.env as string[] | undefined) ?? []).map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)]));
  const r = await k.request<ExecResult>({
    op: 'exec',
    container: ref,
    argv: command,
    env,
    ...(flags.user ? { user: flags.user as string } : {}),
    ...(flags.workdir ? { workingDir: flags.workdir as string } : {}),
  });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.exitCode;
}

export async function portCommand(argv: string[]): Promise<number> {
  const [ref, which] = argv;
  if (!ref) throw new MayflyError('INVALID_OPTION', 'usage: mayfly port CONTAINER [PORT[/PROTO]]');
  const k = await connected();
  const c = await k.request<KeptContainer>({ op: 'describe', container: ref });
  const [port, proto = 'tcp'] = (which ?? '').split('/');
  const shown = c.ports.filter((p) => !which || (String(p.containerPort) === port && p.protocol === proto));
  if (which && !shown.length) throw new MayflyError('INVALID_OPTION', `container ${c.name} does not publish ${which}`);
  for (const p of shown) process.stdout.write(which ? `${p.hostIp}:${p.hostPort}\n` : `${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
  return 0;
}

/** `mayfly stats [CONTAINER...]`: one sample (no stream), every running detached container by default. */
export async function statsCommand(argv: string[]): Promise<number> {
  const k = await existingKeeper();
  const all = k ? await k.request<KeptContainer[]>({ op: 'list' }) : [];
  const chosen = argv.length ? argv.map((ref) => all.find((c) => c.name === ref || c.id.startsWith(ref)) ?? ref) : all.filter((c) => c.status === 'running');
  const rows: string[][] = [['CONTAINER ID', 'NAME', 'CPU TIME', 'MEM USAGE / LIMIT', 'PIDS']];
  for (const c of chosen) {
    if (typeof c === 'string') throw new MayflyError('CONTAINER_NOT_FOUND', `no such container: ${c}`);
    const s = await k!.request<ContainerStats>({ op: 'stats', container: c.id });
    const mem = s.memoryBytes === undefined ? '-' : `${(s.memoryBytes / 2 ** 20).toFixed(1)} MiB${s.memoryLimit ? ` / ${(s.memoryLimit / 2 ** 20).toFixed(0)} MiB` : ''}`;
    rows.push([c.id.slice(0, 12), c.name, s.cpuNs === undefined ? '-' : `${(s.cpuNs / 1e9).toFixed(2)} s`, mem, String(s.pids ?? '-')]);
  }
  printTable(rows);
  return 0;
}
