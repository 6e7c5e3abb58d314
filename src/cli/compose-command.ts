/**
 * `mayfly compose [-f FILE]… [-p NAME] [--profile P]… [--env-file F]… COMMAND`: each verb's flags
 * (declared in commands.ts, with the group's) handed to src/compose, and what it returns printed.
 * The work is in src/compose.
 */
import { MayflyError } from '../core/errors.js';
import { loadComposeProject, type ComposeProject } from '../compose/compose-file.js';
import { attachServices, showLogs } from '../compose/foreground.js';
import { composeBuild, composePull } from '../compose/images.js';
import { composeExec, composeKill, composePort, composeRestart, composeStart, composeStop, preStop } from '../compose/lifecycle.js';
import { composeRun } from '../compose/one-off.js';
import { composeDown, composeUp, planServices, projectContainers } from '../compose/project.js';
import { SERVICE_LABEL } from '../compose/service-options.js';
import { enabledServices } from '../compose/service-selection.js';
import { keeper } from '../keeper/client.js';
import { formatPorts } from '../model/addresses.js';
import type { Flags, ParsedCommand } from './command-line/definition.js';
import { bool, list, num, text } from './command-line/values.js';
import { formatTable } from './output/listing.js';
import { progressPrinter } from './progress.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

function envFlags(values: string[]): Record<string, string> {
  return Object.fromEntries(values.map((kv) => (kv.includes('=') ? [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] : [kv, process.env[kv] ?? ''])));
}

/** `service  | line`, the service names padded to one width */
function linePrinter(services: string[]): (service: string, stream: 'stdout' | 'stderr', line: string) => void {
  const width = Math.max(0, ...services.map((s) => s.length));
  return (service, stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${service.padEnd(width)}  | ${line}\n`);
}

/** The project the group's flags name (read only when a verb needs it). */
function project(flags: Flags): ComposeProject {
  const name = text(flags, 'project-name');
  const dir = text(flags, 'project-directory');
  return loadComposeProject({
    files: list(flags, 'file'),
    profiles: list(flags, 'profile'),
    envFiles: list(flags, 'env-file'),
    ...(name ? { projectName: name } : {}),
    ...(dir ? { projectDirectory: dir } : {}),
  });
}

function lines(items: string[]): number {
  for (const i of items) process.stdout.write(`${i}\n`);
  return 0;
}

export async function composeUpCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  if (bool(f, 'build') && bool(f, 'no-build')) throw new MayflyError('INVALID_OPTION', 'compose up: --build and --no-build contradict each other');
  const exitCodeFrom = text(f, 'exit-code-from');
  if (bool(f, 'detach') && (bool(f, 'abort-on-container-exit') || exitCodeFrom)) throw new MayflyError('INVALID_OPTION', 'compose up: -d cannot be combined with --abort-on-container-exit or --exit-code-from');
  const p = project(f);
  if (exitCodeFrom && !p.content.services[exitCodeFrom]) throw new MayflyError('INVALID_OPTION', `--exit-code-from ${exitCodeFrom}: no such service`);
  const timeout = num(f, 'timeout');
  const up = await composeUp(p, {
    services,
    say,
    build: { ...(bool(f, 'build') ? { always: true } : {}), ...(bool(f, 'no-build') ? { never: true } : {}) },
    forceRecreate: bool(f, 'force-recreate'),
    noDeps: bool(f, 'no-deps'),
    removeOrphans: bool(f, 'remove-orphans'),
    wait: bool(f, 'wait'),
  });
  if (bool(f, 'detach')) return 0;
  const k = await keeper();
  return attachServices(k, up, {
    beforeStop: (c) => preStop(p, k, c, say),
    print: linePrinter(up.filter((s) => s.plan.attach).map((s) => s.plan.service)),
    say,
    abortOnExit: bool(f, 'abort-on-container-exit'),
    ...(exitCodeFrom ? { exitCodeFrom } : {}),
    ...(timeout !== undefined ? { timeout } : {}),
  });
}

export async function composeDownCommand({ flags }: ParsedCommand): Promise<number> {
  await composeDown(project(flags), { volumes: bool(flags, 'volumes'), say });
  return 0;
}

export async function composePsCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  const cs = (await projectContainers(project(f))).filter(
    (c) => (bool(f, 'all') || c.status === 'running' || c.status === 'paused') && (!services.length || services.includes(c.labels[SERVICE_LABEL] ?? '')),
  );
  if (bool(f, 'quiet')) return lines(cs.map((c) => c.id));
  if (bool(f, 'services')) return lines([...new Set(cs.map((c) => c.labels[SERVICE_LABEL] ?? ''))]);
  process.stdout.write(
    formatTable([['NAME', 'SERVICE', 'STATUS', 'PORTS'], ...cs.map((c) => [c.name, c.labels[SERVICE_LABEL] ?? '', c.status === 'exited' ? `exited (${c.exitCode ?? 0})` : c.status, formatPorts(c.ports)])]),
  );
  return 0;
}

export async function composeLogsCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  const tailText = text(f, 'tail');
  if (tailText !== undefined && tailText !== 'all' && !/^\d+$/.test(tailText)) throw new MayflyError('INVALID_OPTION', `invalid value "${tailText}" for -n, --tail: expected a number of lines or "all"`);
  const tail = tailText === undefined || tailText === 'all' ? undefined : Number(tailText);
  const p = project(f);
  const cs = (await projectContainers(p)).filter((c) => !services.length || services.includes(c.labels[SERVICE_LABEL] ?? ''));
  if (!cs.length) throw new MayflyError('CONTAINER_NOT_FOUND', `no containers of project ${p.name}${services.length ? ` for ${services.join(', ')}` : ''}: mayfly compose up first`);
  await showLogs(await keeper(), cs, { follow: bool(f, 'follow'), timestamps: bool(f, 'timestamps'), ...(tail !== undefined ? { tail } : {}), print: linePrinter(cs.map((c) => c.labels[SERVICE_LABEL] ?? c.name)) });
  return 0;
}

export async function composeExecCommand({ flags: f, args: [service, ...argv] }: ParsedCommand): Promise<number> {
  const user = text(f, 'user');
  const workdir = text(f, 'workdir');
  const r = await composeExec(project(f), service!, argv, { env: envFlags(list(f, 'env')), ...(user ? { user } : {}), ...(workdir ? { workingDir: workdir } : {}) });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  return r.exitCode;
}

export async function composeRunCommand({ flags: f, args: [service, ...command] }: ParsedCommand): Promise<number> {
  const entrypoint = text(f, 'entrypoint');
  const user = text(f, 'user');
  const workdir = text(f, 'workdir');
  const name = text(f, 'name');
  const { exitCode, container } = await composeRun(project(f), service!, {
    command,
    ...(entrypoint !== undefined ? { entrypoint: entrypoint ? [entrypoint] : [] } : {}),
    env: envFlags(list(f, 'env')),
    labels: envFlags(list(f, 'label')),
    ...(user ? { user } : {}),
    ...(workdir ? { workingDir: workdir } : {}),
    ...(name ? { name } : {}),
    rm: bool(f, 'rm'),
    detach: bool(f, 'detach'),
    servicePorts: bool(f, 'service-ports'),
    publish: list(f, 'publish'),
    volumes: list(f, 'volume'),
    noDeps: bool(f, 'no-deps'),
    say,
    print: (stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`),
  });
  if (bool(f, 'detach')) process.stdout.write(`${container.name}\n`);
  return exitCode;
}

export async function composeStopCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  const timeout = num(f, 'timeout');
  await composeStop(project(f), { services, say, ...(timeout !== undefined ? { timeout } : {}) });
  return 0;
}

export async function composeStartCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  await composeStart(project(f), { services, say });
  return 0;
}

export async function composeRestartCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  const timeout = num(f, 'timeout');
  await composeRestart(project(f), { services, say, noDeps: bool(f, 'no-deps'), ...(timeout !== undefined ? { timeout } : {}) });
  return 0;
}

export async function composeKillCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  await composeKill(project(f), { services, signal: text(f, 'signal') ?? 'SIGKILL', say });
  return 0;
}

export async function composeBuildCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  await composeBuild(project(f), { services, noCache: bool(f, 'no-cache'), pull: bool(f, 'pull'), say });
  return 0;
}

export async function composePullCommand({ flags: f, args: services }: ParsedCommand): Promise<number> {
  const quiet = bool(f, 'quiet');
  const r = await composePull(project(f), { services, ignoreFailures: bool(f, 'ignore-pull-failures'), say: quiet ? () => {} : say, ...(quiet ? {} : { onProgress: progressPrinter() }) });
  return r.failed.length ? 1 : 0;
}

export async function composePortCommand({ flags: f, args: [service, port] }: ParsedCommand): Promise<number> {
  const protocol = (text(f, 'protocol') ?? 'tcp') as 'tcp' | 'udp';
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new MayflyError('INVALID_OPTION', `compose port: "${port}" is not a port number`);
  process.stdout.write(`${await composePort(project(f), service!, n, protocol)}\n`);
  return 0;
}

export function composeConfigCommand({ flags: f, args: services }: ParsedCommand): number {
  const p = project(f);
  if (bool(f, 'services')) return lines([...enabledServices(p, services)]);
  if (bool(f, 'volumes')) return lines(Object.keys(p.content.volumes ?? {}));
  if (bool(f, 'profiles')) return lines([...new Set(Object.values(p.content.services).flatMap((s) => s.profiles ?? []))].sort());
  const plans = planServices(p, services, { say });
  if (!bool(f, 'quiet')) process.stdout.write(`${JSON.stringify(plans.map(({ warnings: _, ...plan }) => plan), null, 2)}\n`);
  return 0;
}
