/** `mayfly run`: start a container in the foreground, stream its output, exit with its code. */
import { resolve } from 'node:path';
import { MayflyError } from '../errors.js';
import { Runtime, type ContainerOptions } from '../runtime/runtime.js';
import { parseContainerSpec, parsePortFlag, parseTmpfsFlag, parseVolumeFlag, type ContainerSpecInput } from '../runtime/spec.js';
import { parseFlags, type FlagSpec } from './args.js';
import { runDetached } from './detached-commands.js';

export const RUN_USAGE = `Usage: mayfly run [OPTIONS] IMAGE [COMMAND [ARG...]]
       mayfly run [OPTIONS] --rootfs DIR [--] COMMAND [ARG...]

Runs a command in a new container (the image's Entrypoint/Cmd by default) and exits with its
exit code (125: mayfly failed, 126: command cannot be run, 127: command not found).

Options:
      --rootfs DIR          run a plain directory as the container's only (read-only) layer
      --entrypoint CMD      replace the image's entrypoint
      --pull WHEN           missing (default), always or never
  -d, --detach              run in the background (in the mayfly keeper) and print the container ID;
                            mayfly ps / logs / exec / stop / rm drive it
      --rm                  remove the container when it exits (always the case in the foreground)
      --name NAME           container name
      --network NET         none (default: own namespace, loopback only), host, or a network
                            made with \`mayfly network create\` (containers on it reach each other by name)
      --network-alias NAME  another name for the container on its network
  -p, --publish [IP:]HOST:CONTAINER  publish a container port (HOST 0 or CONTAINER alone: any free port)
  -P, --publish-all         publish every exposed port (the image's EXPOSE and --expose) on a free port
      --expose PORT         declare a container port
      --tmpfs PATH[:OPTS]   mount a tmpfs, e.g. /data:size=64m,mode=1777
  -v, --volume SRC:DST[:ro] bind mount (SRC absolute) or named volume (SRC a name)
  -e, --env KEY=VALUE       set an environment variable (KEY alone copies it from here)
  -u, --user USER[:GROUP]   run as this user (name or id, resolved in the container)
  -w, --workdir DIR         working directory inside the container
  -h, --hostname NAME       container host name
  -m, --memory SIZE         memory limit, e.g. 64m (needs cgroups: see mayfly doctor)
      --cpus N              CPU limit, e.g. 1.5
      --pids-limit N        process limit
      --init                run a tiny init (tini) as PID 1 that forwards signals and reaps zombies
      --stop-signal SIG     signal for stop (default SIGTERM)
      --stop-timeout SECS   seconds before SIGKILL (default 10)
`;

const FLAGS: FlagSpec[] = [
  { names: ['--rootfs'], kind: 'string', key: 'rootfs' },
  { names: ['--entrypoint'], kind: 'string', key: 'entrypoint' },
  { names: ['--pull'], kind: 'string', key: 'pull' },
  { names: ['--rm'], kind: 'boolean', key: 'rm' },
  { names: ['--name'], kind: 'string', key: 'name' },
  { names: ['--network', '--net'], kind: 'string', key: 'network' },
  { names: ['--network-alias', '--net-alias'], kind: 'list', key: 'networkAlias' },
  { names: ['-p', '--publish'], kind: 'list', key: 'publish' },
  { names: ['-P', '--publish-all'], kind: 'boolean', key: 'publishAll' },
  { names: ['--expose'], kind: 'list', key: 'expose' },
  { names: ['--tmpfs'], kind: 'list', key: 'tmpfs' },
  { names: ['-v', '--volume'], kind: 'list', key: 'volume' },
  { names: ['-e', '--env'], kind: 'list', key: 'env' },
  { names: ['-u', '--user'], kind: 'string', key: 'user' },
  { names: ['-w', '--workdir'], kind: 'string', key: 'workdir' },
  { names: ['-h', '--hostname'], kind: 'string', key: 'hostname' },
  { names: ['-m', '--memory'], kind: 'string', key: 'memory' },
  { names: ['--cpus'], kind: 'string', key: 'cpus' },
  { names: ['--pids-limit'], kind: 'string', key: 'pids' },
  { names: ['--init'], kind: 'boolean', key: 'init' },
  { names: ['--stop-signal'], kind: 'string', key: 'stopSignal' },
  { names: ['--stop-timeout'], kind: 'string', key: 'stopTimeout' },
  { names: ['--help'], kind: 'boolean', key: 'help' },
  { names: ['-d', '--detach'], kind: 'boolean', key: 'detach' },
];

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new MayflyError('INVALID_OPTION', `${flag} expects a number, got "${v}"`);
  return n;
}

export function specFromRunArgs(argv: string[]): { spec: ContainerOptions; help: boolean; detach?: boolean } {
  const { flags: f, rest: args } = parseFlags(argv, FLAGS, 'run');
  if (f.help) return { spec: {}, help: true };
  const image = f.rootfs ? undefined : args[0];
  const rest = image ? args.slice(1) : args;
  if (!f.rootfs && !image) throw new MayflyError('INVALID_OPTION', 'mayfly run needs an IMAGE or --rootfs DIR', { hint: 'see `mayfly run --help`' });
  if (f.pull && !['missing', 'always', 'never'].includes(f.pull as string)) throw new MayflyError('INVALID_OPTION', `--pull must be missing, always or never, got "${f.pull}"`);
  const env: Record<string, string> = {};
  for (const e of (f.env as string[] | undefined) ?? []) {
    const i = e.indexOf('=');
    if (i < 0) {
      if (process.env[e] !== undefined) env[e] = process.env[e]!;
    } else env[e.slice(0, i)] = e.slice(i + 1);
  }
  const binds = [];
  const volumes = [];
  for (const v of (f.volume as string[] | undefined) ?? []) {
    const m = parseVolumeFlag(v);
    if ('bind' in m) binds.push(m.bind);
    else volumes.push(m.volume);
  }
  const spec: ContainerOptions = {
    ...(image ? { image } : { layers: [resolve(f.rootfs as string)] }),
    ...(rest.length || !image ? { command: rest } : {}),
    ...(f.entrypoint ? { entrypoint: [f.entrypoint as string] } : {}),
    ...(f.pull ? { pull: f.pull as 'missing' | 'always' | 'never' } : {}),
    env,
    tmpfs: ((f.tmpfs as string[] | undefined) ?? []).map(parseTmpfsFlag),
    binds,
    volumes,
    init: Boolean(f.init),
    ports: ((f.publish as string[] | undefined) ?? []).map(parsePortFlag),
    publishAll: Boolean(f.publishAll),
    exposedPorts: ((f.expose as string[] | undefined) ?? []).map((p) => num(p.replace(/\/tcp$/, ''), '--expose')!),
    limits: {
      ...(f.memory ? { memory: f.memory as string } : {}),
      ...(f.cpus ? { cpus: num(f.cpus as string, '--cpus')! } : {}),
      ...(f.pids ? { pids: num(f.pids as string, '--pids-limit')! } : {}),
    },
    ...(f.name ? { name: f.name as string } : {}),
    ...(f.network ? { network: f.network as string } : {}),
    ...(f.networkAlias ? { networkAliases: f.networkAlias as string[] } : {}),
    ...(f.user ? { user: f.user as string } : {}),
    ...(f.workdir ? { workingDir: f.workdir as string } : {}),
    ...(f.hostname ? { hostname: f.hostname as string } : {}),
    ...(f.stopSignal ? { stopSignal: f.stopSignal as string } : {}),
    ...(f.stopTimeout ? { stopTimeout: num(f.stopTimeout as string, '--stop-timeout')! } : {}),
  };
  return { spec, help: false, detach: Boolean(f.detach) };
}

export async function runCommand(argv: string[]): Promise<number> {
  const { spec, help, detach } = specFromRunArgs(argv);
  if (help) {
    process.stdout.write(RUN_USAGE);
    return 0;
  }
  if (!spec.image) parseContainerSpec(spec as ContainerSpecInput); // report bad options before any namespace is made
  if (detach) return runDetached(spec);
  const runtime = await Runtime.start({ onWarning: (m) => process.stderr.write(`mayfly: warning: ${m}\n`) });
  try {
    const container = await runtime.create(spec);
    // Signals go to the container, as `docker run` proxies them. SIGINT and SIGTERM also start a
    // stop: a PID 1 without a handler ignores them, so SIGKILL follows after the stop timeout (or
    // at once on a second one) — `timeout`, Ctrl-C and CI cancellations always end the container.
    let stopping = false;
    const forward = (sig: NodeJS.Signals) => {
      if (sig !== 'SIGINT' && sig !== 'SIGTERM') return void container.kill(sig).catch(() => {});
      if (stopping) return void container.kill('SIGKILL').catch(() => {});
      stopping = true;
      void container.stop({ signal: sig }).catch(() => {});
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
    for (const s of signals) process.on(s, forward);
    try {
      await container.start({ onOutput: (stream, data) => (stream === 'stdout' ? process.stdout : process.stderr).write(data) });
      for (const p of container.ports()) process.stderr.write(`mayfly: ${p.containerPort}/${p.protocol} -> ${p.hostIp}:${p.hostPort}\n`);
      for (const n of container.networks()) process.stderr.write(`mayfly: on network ${n.network} as ${n.ip} (${n.interface})\n`);
      const { exitCode } = await container.wait();
      return exitCode;
    } finally {
      for (const s of signals) process.off(s, forward);
      await container.remove({ force: true });
    }
  } finally {
    await runtime.close();
  }
}
