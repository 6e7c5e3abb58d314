/** `mayfly compose [-f FILE] [-p NAME] up [-d] | down [-v] | ps | logs [-f] | config` */
import { join } from 'node:path';
import { MayflyError } from '../errors.js';
import { findComposeFile, loadComposeFile } from '../compose/compose-file.js';
import { composeDown, composeUp, projectContainers } from '../compose/project.js';
import { SERVICE_LABEL, servicePlan } from '../compose/service-options.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { followLogs, readLogs, type LogEntry } from '../runtime/logs.js';
import { existingKeeper } from '../keeper/client.js';
import { formatPorts } from '../runtime/addresses.js';
import { parseFlags } from './args.js';
import { printTable } from './table.js';

const USAGE = `Usage: mayfly compose [-f FILE] [-p NAME] COMMAND

  up [-d] [SERVICE...]   start the services (and what they depend on), in order; without -d,
                         follow their logs until Ctrl-C, then stop them
  down [-v]              remove the services' containers and networks (-v: and named volumes)
  ps                     the project's containers
  logs [-f] [SERVICE...] their output, each line prefixed by its service
  config                 the services as mayfly runs them (JSON)
`;

const say = (line: string) => process.stderr.write(`${line}\n`);

function prefixer(containers: KeptContainer[]): (c: KeptContainer, e: LogEntry) => void {
  const width = Math.max(...containers.map((c) => (c.labels[SERVICE_LABEL] ?? c.name).length));
  return (c, e) => (e.stream === 'stdout' ? process.stdout : process.stderr).write(`${(c.labels[SERVICE_LABEL] ?? c.name).padEnd(width)}  | ${e.line}\n`);
}

/** Prints what the containers said, then (follow) what they say, until every one has exited or Ctrl-C. */
async function showLogs(containers: KeptContainer[], follow: boolean): Promise<void> {
  const print = prefixer(containers);
  if (!follow) {
    for (const c of containers) for (const e of await readLogs(join(c.dir, 'log.jsonl'))) print(c, e);
    return;
  }
  const ac = new AbortController();
  const k = await existingKeeper();
  let running = containers.filter((c) => c.status === 'running').length;
  for (const c of containers) {
    followLogs(join(c.dir, 'log.jsonl'), (e) => print(c, e), ac.signal, true);
    k?.exits.set(c.id, () => --running <= 0 && setTimeout(() => ac.abort(), 200));
  }
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
}

export async function composeCommand(argv: string[]): Promise<number> {
  const { flags, rest } = parseFlags(argv, [
    { names: ['-f', '--file'], kind: 'string', key: 'file' },
    { names: ['-p', '--project-name'], kind: 'string', key: 'project' },
  ], 'compose');
  const [sub, ...args] = rest;
  if (!sub || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub ? 0 : 125;
  }
  const project = loadComposeFile(findComposeFile(process.cwd(), flags.file as string | undefined), flags.project as string | undefined);
  switch (sub) {
    case 'up': {
      const { flags: f, rest: services } = parseFlags(args, [{ names: ['-d', '--detach'], kind: 'boolean', key: 'detach' }], 'compose up');
      const containers = await composeUp(project, { services, say });
      if (f.detach) return 0;
      await showLogs(containers, true);
      const k = await existingKeeper();
      for (const c of containers) await k?.request({ op: 'stop', container: c.id }).catch(() => {});
      say('Stopped (mayfly compose down removes them)');
      return 0;
    }
    case 'down': {
      const { flags: f } = parseFlags(args, [{ names: ['-v', '--volumes'], kind: 'boolean', key: 'volumes' }], 'compose down');
      await composeDown(project, { volumes: Boolean(f.volumes), say });
      return 0;
    }
    case 'ps': {
      const cs = await projectContainers(project);
      printTable([
        ['NAME', 'SERVICE', 'STATUS', 'PORTS'],
        ...cs.map((c) => [c.name, c.labels[SERVICE_LABEL] ?? '', c.status === 'exited' ? `exited (${c.exitCode ?? 0})` : c.status, formatPorts(c.ports)]),
      ]);
      return 0;
    }
    case 'logs': {
      const { flags: f, rest: services } = parseFlags(args, [{ names: ['-f', '--follow'], kind: 'boolean', key: 'follow' }], 'compose logs');
      const cs = (await projectContainers(project)).filter((c) => !services.length || services.includes(c.labels[SERVICE_LABEL] ?? ''));
      if (!cs.length) throw new MayflyError('CONTAINER_NOT_FOUND', `no containers of project ${project.name}${services.length ? ` for ${services.join(', ')}` : ''}: mayfly compose up first`);
      await showLogs(cs, Boolean(f.follow));
      return 0;
    }
    case 'config':
      process.stdout.write(`${JSON.stringify(Object.keys(project.content.services).map((s) => servicePlan(project, s)), null, 2)}\n`);
      return 0;
    default:
      process.stderr.write(`mayfly compose: unknown command "${sub}"\n\n${USAGE}`);
      return 125;
  }
}
