/** `mayfly run`: a container from the command line's flags; in the foreground, or with -d in the keeper. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { mayflyHome } from '../core/paths.js';
import type { ContainerOptions } from '../engine/runtime.js';
import { attach, type AttachSession } from '../keeper/attach-client.js';
import { keeper } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { parseAddHostFlag, parseMountFlag, parsePortFlag, parseTmpfsFlag, parseVolumeFlag } from '../model/docker-flags.js';
import type { Flags, ParsedCommand } from './command-line/definition.js';
import { bool, keyValues, list, num, text } from './command-line/values.js';
import { checkInputDevice, connectUserTerminal, terminalSize } from './user-terminal.js';

/** `-e KEY=VALUE`, or `-e KEY` to pass this process's value on (left out when unset, as Docker does) */
function envFrom(flags: Flags): Record<string, string> {
  const env: Record<string, string> = {};
  const lines = list(flags, 'env-file').flatMap((file) => {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (e) {
      throw new MayflyError('INVALID_OPTION', `--env-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    return content.split(/\r?\n/).filter((l) => l.trim() && !l.trimStart().startsWith('#'));
  });
  for (const e of [...lines, ...list(flags, 'env')]) {
    const i = e.indexOf('=');
    if (i < 0) {
      if (process.env[e] !== undefined) env[e] = process.env[e]!;
    } else env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

/** The container's options from run's (and create's) flags; `args` are IMAGE [COMMAND...] (or COMMAND... with --rootfs). */
export function containerOptions(flags: Flags, args: string[], verb: string): ContainerOptions {
  const rootfs = text(flags, 'rootfs');
  const image = rootfs ? undefined : args[0];
  const command = image ? args.slice(1) : args;
  if (!rootfs && !image) throw new MayflyError('INVALID_OPTION', `mayfly ${verb} needs an IMAGE (or --rootfs DIR)`, { hint: `see 'mayfly ${verb} --help'` });
  const binds = [];
  const volumes = [];
  const tmpfs = list(flags, 'tmpfs').map(parseTmpfsFlag);
  for (const v of list(flags, 'volume')) {
    const m = parseVolumeFlag(v);
    if ('bind' in m) binds.push({ ...m.bind, source: resolve(m.bind.source) });
    else volumes.push(m.volume);
  }
  for (const v of list(flags, 'mount')) {
    const m = parseMountFlag(v);
    if ('bind' in m) binds.push(m.bind);
    else if ('volume' in m) volumes.push(m.volume);
    else tmpfs.push(m.tmpfs);
  }
  const expose = list(flags, 'expose').map((p) => {
    const n = Number(p.replace(/\/tcp$/, ''));
    if (!Number.isInteger(n)) throw new MayflyError('INVALID_OPTION', `invalid value "${p}" for --expose: expected a port number (80 or 80/tcp)`);
    return n;
  });
  const entrypoint = text(flags, 'entrypoint');
  const labels = keyValues(list(flags, 'label'));
  const opt = (key: string, value: unknown) => (value === undefined ? {} : { [key]: value });
  return {
    ...(image ? { image } : { layers: [resolve(rootfs!)] }),
    ...(command.length || !image ? { command } : {}),
    ...(entrypoint !== undefined ? { entrypoint: entrypoint === '' ? [] : [entrypoint] } : {}),
    ...opt('pull', text(flags, 'pull')),
    env: envFrom(flags),
    tmpfs,
    binds,
    volumes,
    init: bool(flags, 'init'),
    openStdin: bool(flags, 'interactive'),
    tty: bool(flags, 'tty'),
    ports: list(flags, 'publish').map(parsePortFlag),
    publishAll: bool(flags, 'publish-all'),
    exposedPorts: expose,
    limits: { ...opt('memory', text(flags, 'memory')), ...opt('cpus', num(flags, 'cpus')), ...opt('pids', num(flags, 'pids-limit')) },
    ...(Object.keys(labels).length ? { labels } : {}),
    ...opt('name', text(flags, 'name')),
    // Docker's default network, unless told otherwise (the harness's default is none: see README)
    network: text(flags, 'network') ?? 'bridge',
    ...(list(flags, 'network-alias').length ? { networkAliases: list(flags, 'network-alias') } : {}),
    ...opt('user', text(flags, 'user')),
    ...opt('workingDir', text(flags, 'workdir')),
    ...opt('hostname', text(flags, 'hostname')),
    ...opt('stopSignal', text(flags, 'stop-signal')),
    ...opt('stopTimeout', num(flags, 'stop-timeout')),
    ...(list(flags, 'cap-add').length ? { capAdd: list(flags, 'cap-add') } : {}),
    ...(list(flags, 'cap-drop').length ? { capDrop: list(flags, 'cap-drop') } : {}),
    ...(list(flags, 'security-opt').length ? { securityOpt: list(flags, 'security-opt') } : {}),
    ...(bool(flags, 'privileged') ? { privileged: true } : {}),
    ...(list(flags, 'add-host').length ? { extraHosts: list(flags, 'add-host').map(parseAddHostFlag) } : {}),
  };
}

/**
 * An image that is not in the store is pulled here, with progress, as `docker run` does ("Unable to
 * find image … locally"), before the keeper is asked to run it; `--pull always` too.
 */
async function ensureImage(options: ContainerOptions, platform: string | undefined): Promise<void> {
  if (!options.image || options.pull === 'never') return;
  if (options.pull !== 'always') {
    const { ImageStore } = await import('../image/store/image-store.js');
    if (new ImageStore(mayflyHome()).find(options.image)) return;
    const { parseReference } = await import('../image/reference.js');
    parseReference(options.image); // a wrong name is said as such, not as a missing image
    process.stderr.write(`Unable to find image '${options.image}' locally\n`);
  }
  const [{ withRuntime }, { progressPrinter }] = await Promise.all([import('./with-runtime.js'), import('./progress.js')]);
  await withRuntime((rt) => rt.pull(options.image!, { onProgress: progressPrinter(), ...(platform ? { platform } : {}) }));
  options.pull = 'missing';
}

/** `mayfly run -d`: prints the new container's ID, as Docker does. */
async function runDetached(options: ContainerOptions, autoRemove: boolean): Promise<number> {
  const k = await keeper();
  const key = `detached-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const c = await k.request<KeptContainer>({ op: 'ensure', key, options, detached: true, autoRemove });
  process.stdout.write(`${c.id}\n`);
  for (const p of c.ports) process.stderr.write(`mayfly: ${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
  return 0;
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * `mayfly run`: the keeper makes and starts the container (where the `-d` ones live, so it can join
 * their networks) and streams its output here; the exit code is the container's. Without --rm the
 * container stays, exited, for `ps -a`, `logs`, `start`, `commit`; if this process is killed, the
 * keeper stops and removes it.
 */
export async function runCommand({ flags, args }: ParsedCommand): Promise<number> {
  const options = containerOptions(flags, args, 'run');
  const autoRemove = bool(flags, 'rm');
  const detach = bool(flags, 'detach');
  const interactive = Boolean(options.openStdin);
  const tty = Boolean(options.tty);
  if (!detach) checkInputDevice(interactive, tty);
  await ensureImage(options, text(flags, 'platform'));
  if (detach) return runDetached(options, autoRemove);
  let session: AttachSession | undefined;
  let disconnect = () => {};
  const early: NodeJS.Signals[] = [];
  const forward = (sig: NodeJS.Signals) => (session ? session.signal(sig) : early.push(sig));
  for (const s of FORWARDED) process.on(s, forward);
  try {
    const size = tty ? terminalSize() : undefined;
    session = await attach(
      { op: 'run', options, autoRemove, ...(size ? { size } : {}) },
      {
        onOutput: (stream, data) => (stream === 'stdout' ? process.stdout : process.stderr).write(data),
        onStarted: (c) => {
          for (const p of c.ports) process.stderr.write(`mayfly: ${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
          // where a user-defined network put it (Docker's default bridge goes unsaid, as in Docker)
          for (const n of c.networks) if (n.network !== 'bridge') process.stderr.write(`mayfly: on network ${n.network} as ${n.ip} (${n.interface})\n`);
        },
      },
    );
    for (const s of early.splice(0)) session.signal(s);
    disconnect = connectUserTerminal(session, { interactive, tty });
    const end = await session.done;
    if (end.detached) process.stderr.write('\nread escape sequence\n');
    return end.exitCode;
  } finally {
    disconnect();
    for (const s of FORWARDED) process.off(s, forward);
  }
}

/** `mayfly create`: the container, made and kept, not started; prints its ID. */
export async function createCommand({ flags, args }: ParsedCommand): Promise<number> {
  const options = containerOptions(flags, args, 'create');
  await ensureImage(options, text(flags, 'platform'));
  const c = await (await keeper()).request<KeptContainer>({ op: 'create', options, autoRemove: bool(flags, 'rm') });
  process.stdout.write(`${c.id}\n`);
  return 0;
}
