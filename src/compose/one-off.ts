/**
 * `compose run SERVICE [COMMAND…]`: a one-off container of a service — its image, environment,
 * volumes, secrets and networks, another command — after what it depends on is up. Its ports are
 * published only with --service-ports (or -p), and it answers to no service alias: it is not the
 * service's container. In the foreground its output streams, Ctrl-C is passed on to it (a second
 * one kills it), and `run` exits with its exit code; --rm removes it afterwards.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import { keeper } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import { followLogs, type LogStream } from '../model/container-logs.js';
import { parsePortFlag, parseVolumeFlag } from '../model/docker-flags.js';
import type { ComposeProject } from './compose-file.js';
import { buildImages, composeUp, ensureNetworksAndVolumes, materialize, planServices, type Say } from './project.js';
import { ONEOFF_LABEL } from './service-options.js';

export interface RunOptions {
  /** replaces the service's command */
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  labels?: Record<string, string>;
  user?: string;
  workingDir?: string;
  name?: string;
  /** remove the container when it exits */
  rm?: boolean;
  /** start it and return its name */
  detach?: boolean;
  /** publish the service's own ports */
  servicePorts?: boolean;
  /** `-p` publications of its own */
  publish?: string[];
  /** `-v` mounts of its own */
  volumes?: string[];
  /** do not start what it depends on */
  noDeps?: boolean;
  say: Say;
  /** its output, line by line */
  print: (stream: LogStream, line: string) => void;
  signals?: NodeJS.EventEmitter;
}

/** Returns the container's exit code (the foreground), or 0 once it is started (detach). */
export async function composeRun(p: ComposeProject, service: string, opts: RunOptions): Promise<{ exitCode: number; container: KeptContainer }> {
  const [plan] = planServices(p, [service], { noDeps: true, say: opts.say }).filter((x) => x.service === service);
  if (!plan) throw new MayflyError('INVALID_OPTION', `no service ${service} in this project`);
  const deps = plan.dependsOn.filter((d) => p.content.services[d.service]).map((d) => d.service);
  if (deps.length && !opts.noDeps) await composeUp(p, { services: deps, say: opts.say });
  // the flags are read before anything is made
  const extraVolumes = (opts.volumes ?? []).map((v) => parseVolumeFlag(v));
  const published = (opts.publish ?? []).map((f) => parsePortFlag(f));
  await buildImages(p, [plan], {}, opts.say);
  ensureNetworksAndVolumes(p, [plan]);
  const base = materialize(p, plan);
  const options = {
    ...base,
    name: opts.name ?? `${p.name}-${service}-run-${randomBytes(6).toString('hex')}`,
    ...(opts.command?.length ? { command: opts.command } : {}),
    ...(opts.entrypoint ? { entrypoint: opts.entrypoint } : {}),
    env: { ...base.env, ...opts.env },
    ...(opts.user ? { user: opts.user } : {}),
    ...(opts.workingDir ? { workingDir: opts.workingDir } : {}),
    ports: [...(opts.servicePorts ? (base.ports ?? []) : []), ...published],
    binds: [...(base.binds ?? []), ...extraVolumes.flatMap((v) => ('bind' in v ? [v.bind] : []))],
    volumes: [...(base.volumes ?? []), ...extraVolumes.flatMap((v) => ('volume' in v ? [v.volume] : []))],
    // not the service's container: its name answers for it, no alias does
    networkAliases: [],
    networks: (base.networks ?? []).map((n) => ({ name: n.name, aliases: [] })),
    labels: { ...base.labels, ...opts.labels, [ONEOFF_LABEL]: 'true' },
  };
  const k = await keeper();
  const key = `compose-run:${p.name}:${service}:${options.name}`;
  const container = await k.request<KeptContainer>({ op: 'ensure', key, options, detached: true });
  if (opts.detach) return { exitCode: 0, container };

  const signals = opts.signals ?? process;
  const follow = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // as `docker run` passes signals on: the container's process decides; a second Ctrl-C kills it
    interrupts++;
    void k.request({ op: 'kill', container: container.id, signal: interrupts === 1 ? sig : 'SIGKILL' }).catch(() => {});
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  signals.on('SIGINT', onInt);
  signals.on('SIGTERM', onTerm);
  const output = followLogs(join(container.dir, 'log.jsonl'), (e) => opts.print(e.stream, e.line), follow.signal, true);
  try {
    const exitCode = await k.hold(
      new Promise<number>((resolve, reject) => {
        k.exits.set(container.id, resolve);
        const early = k.exitedEarly.get(container.id);
        if (early !== undefined) resolve(early);
        void k.closed.then(() => reject(new MayflyError('SANDBOX_GONE', `the mayfly keeper went away while ${container.name} ran`)));
        void k.request<KeptContainer>({ op: 'describe', container: container.id }).then((c) => c.status === 'exited' && resolve(c.exitCode ?? 0), () => {});
      }),
    );
    await output.drain(); // its last line is on disk before its exit is told
    return { exitCode, container };
  } finally {
    follow.abort();
    signals.off('SIGINT', onInt);
    signals.off('SIGTERM', onTerm);
    k.exits.delete(container.id);
    k.exitedEarly.delete(container.id);
    if (opts.rm) await k.request({ op: 'remove', container: container.id }).catch(() => {});
  }
}
