/**
 * What a test asks for, as one validated object: the builder (`container(image).with…()`) and
 * `startContainer({...})` both end here. Unknown keys are errors too — a typo such as `exposedPort`
 * must not silently start a container without its port.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { ContainerOptions } from '../engine/runtime.js';
import { parseWith } from '../core/validate.js';
import { parseTmpfsFlag } from '../model/docker-flags.js';
import type { WaitStrategy } from './wait/index.js';
import { copyItemSchema } from './copy.js';
import type { StartedContainer } from './started-container.js';

const port = z.number().int().min(1).max(65535);
const absolute = z.string().refine((p) => isAbsolute(p), { message: 'expected an absolute path' });

const waitStrategy = z.custom<WaitStrategy>((v) => typeof (v as WaitStrategy)?.wait === 'function' && typeof (v as WaitStrategy)?.describe === 'function', {
  message: 'expected a wait strategy made by Wait.for…()',
});

/**
 * Keep the state a first start initialises (a database's data directory after its init scripts),
 * and start later containers of the same configuration from it: see init-snapshot.ts.
 */
export const initSnapshotSchema = z.strictObject({
  /** the directories that hold the service's state; each is a tmpfs in every later start, filled from the snapshot */
  paths: z.array(absolute).min(1),
  /** how to stop the server cleanly once it is ready, so that its state on disk is complete: default, the stop signal */
  quiesce: z
    .strictObject({
      /** run inside the container first (e.g. `['redis-cli', 'shutdown', 'save']`); the server should exit because of it */
      command: z.array(z.string()).min(1).optional(),
      /** sent when there is no command, or the server is still running after it; default the container's stop signal */
      signal: z.string().regex(/^(SIG)?[A-Z0-9]+$/, { message: 'a signal name like SIGINT' }).optional(),
      /** seconds to wait for the server to exit before the state counts as not quiesced (it is then killed); default 30 */
      timeout: z.number().positive().default(30),
    })
    .default({ timeout: 30 }),
  /** anything else that shapes the initialisation and is not in the options (a digest of seed data); part of the key */
  key: z.string().optional(),
  /**
   * more initialisation once the first start is ready (seed data loaded through the server), before
   * the snapshot is taken; starts from the snapshot skip it. Its inputs belong in `key`.
   */
  initialise: z
    .custom<(container: StartedContainer) => Promise<void>>((v) => typeof v === 'function', { message: 'expected a function (container) => Promise<void>' })
    .optional(),
  /**
   * how to run the server on initialised state, when it differs from the first start: e.g. the
   * server binary itself instead of an entrypoint that only checks whether to initialise
   */
  run: z
    .strictObject({
      entrypoint: z.array(z.string()).min(1).optional(),
      command: z.array(z.string()).min(1).optional(),
      user: z.string().min(1).optional(),
    })
    .optional(),
  /** false: initialise every time (what a start without this option does) */
  enabled: z.boolean().default(true),
});

export const harnessOptionsSchema = z
  .strictObject({
    /** an image reference (`redis:7`, `127.0.0.1:5000/app@sha256:…`) */
    image: z.string().min(1).optional(),
    /** a root filesystem directory instead of an image (or extra layers on top of it) */
    layers: z.array(absolute).optional(),
    command: z.array(z.string()).min(1).optional(),
    entrypoint: z.array(z.string()).min(1).optional(),
    env: z.record(z.string(), z.string()).default({}),
    /** container ports published on free host ports (the image's EXPOSE are added) */
    exposedPorts: z.array(port).default([]),
    /** ports published as given, `docker run -p HOST:CONTAINER[/udp]`; host port 0: a free one (how a UDP port is published) */
    fixedPorts: z.array(z.strictObject({ containerPort: port, hostPort: z.number().int().min(0).max(65535), protocol: z.enum(['tcp', 'udp']).default('tcp') })).default([]),
    /** `{ '/data': 'size=64m,mode=1777,noexec' }` (Docker's --tmpfs options; rw, nosuid and nodev always apply) */
    tmpfs: z.record(absolute, z.string().superRefine(checkTmpfsOptions)).default({}),
    binds: z.array(z.strictObject({ source: absolute, target: absolute, readonly: z.boolean().default(false) })).default([]),
    volumes: z.array(z.strictObject({ name: z.string().min(1), target: absolute, readonly: z.boolean().default(false) })).default([]),
    /** files, directories or content put in place before start */
    copies: z.array(copyItemSchema).default([]),
    network: z.string().min(1).optional(),
    networkAliases: z.array(z.string().min(1)).default([]),
    user: z.string().min(1).optional(),
    workingDir: absolute.optional(),
    hostname: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    labels: z.record(z.string(), z.string()).default({}),
    limits: z.strictObject({ memory: z.union([z.string(), z.number()]).optional(), cpus: z.number().positive().optional(), pids: z.number().int().positive().optional() }).default({}),
    init: z.boolean().default(false),
    pull: z.enum(['missing', 'always', 'never']).default('missing'),
    /** how the harness knows the service is ready; default: every exposed port listening inside the container */
    wait: waitStrategy.optional(),
    /** milliseconds for start + readiness */
    startupTimeout: z.number().int().positive().default(60_000),
    /** keep the container for later runs (watch mode, separate runs), found again by a hash of these options */
    reuse: z.boolean().default(false),
    /** seconds between the stop signal and SIGKILL */
    stopTimeout: z.number().min(0).default(10),
    /** initialise once, start from a snapshot of the initialised state afterwards */
    initSnapshot: initSnapshotSchema.optional(),
    /** every capability, no seccomp filter, nothing of /proc and /sys masked (Docker's --privileged) */
    privileged: z.boolean().default(false),
    /** capabilities beyond Docker's default set: `NET_ADMIN`, `CAP_SYS_PTRACE`, `ALL` */
    capAdd: z.array(z.string().min(1)).default([]),
    capDrop: z.array(z.string().min(1)).default([]),
    /** Docker's --security-opt: `seccomp=unconfined` turns the default seccomp filter off */
    securityOpt: z.array(z.string().min(1)).default([]),
    /** more /etc/hosts entries (Testcontainers' withExtraHosts); ipAddress `host-gateway` is the host's whole loopback, on a network with outbound access */
    extraHosts: z.array(z.strictObject({ host: z.string().min(1), ipAddress: z.string().min(1) })).default([]),
    /** host loopback ports (and only those) the container reaches as host.mayfly.internal:PORT, on any network */
    exposedHostPorts: z.array(port).default([]),
  })
  .refine((o) => o.image || o.layers?.length, { message: 'give an image (or layers)', path: ['image'] })
  .refine((o) => !(o.reuse && o.copies.length), { message: 'a reused container cannot take copies (their contents are not part of what identifies it): copy after start instead', path: ['copies'] })
  .refine((o) => !(o.initSnapshot?.enabled && !o.image), { message: 'an initialised-data snapshot belongs to an image: give one', path: ['initSnapshot'] })
  .refine((o) => !(o.initSnapshot?.enabled && o.reuse), { message: 'a reused container keeps its state already: use reuse or initSnapshot, not both', path: ['initSnapshot'] })
  .refine((o) => !nestedPath(o.initSnapshot?.paths ?? []), { message: 'state paths must not lie inside one another', path: ['initSnapshot', 'paths'] });

function nestedPath(paths: string[]): boolean {
  const norm = paths.map((p) => p.replace(/\/+$/, '') || '/');
  return norm.some((a, i) => norm.some((b, j) => i !== j && (a === b || b.startsWith(a === '/' ? '/' : `${a}/`))));
}

export type HarnessOptions = z.input<typeof harnessOptionsSchema>;
export type ResolvedHarnessOptions = z.output<typeof harnessOptionsSchema>;

export function parseHarnessOptions(input: HarnessOptions): ResolvedHarnessOptions {
  return parseWith(harnessOptionsSchema, input, 'container options');
}

/** The runtime's view of the same request: exposed ports are published on free host ports (Testcontainers' model). */
export function toContainerOptions(o: ResolvedHarnessOptions): ContainerOptions {
  return {
    ...(o.image ? { image: o.image, pull: o.pull } : {}),
    ...(o.layers ? { layers: o.layers } : {}),
    ...(o.command ? { command: o.command } : {}),
    ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}),
    env: o.env,
    exposedPorts: o.exposedPorts,
    publishAll: true,
    ports: o.fixedPorts.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort, protocol: p.protocol })),
    tmpfs: Object.entries(o.tmpfs).map(([path, opts]) => parseTmpfsFlag(`${path}:${opts}`)),
    binds: o.binds,
    volumes: o.volumes,
    ...(o.network ? { network: o.network } : {}),
    networkAliases: o.networkAliases,
    ...(o.user ? { user: o.user } : {}),
    ...(o.workingDir ? { workingDir: o.workingDir } : {}),
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.name ? { name: o.name } : {}),
    labels: o.labels,
    limits: o.limits,
    init: o.init,
    stopTimeout: o.stopTimeout,
    privileged: o.privileged,
    capAdd: o.capAdd,
    capDrop: o.capDrop,
    securityOpt: o.securityOpt,
    extraHosts: o.extraHosts.map((h) => ({ name: h.host, ip: h.ipAddress })),
    exposedHostPorts: o.exposedHostPorts,
  };
}

/** Testcontainers' tmpfs form, `rw,noexec,size=64m`: an option mayfly cannot apply is an error, not ignored. */
function checkTmpfsOptions(opts: string, ctx: z.RefinementCtx): void {
  try {
    parseTmpfsFlag(`/:${opts}`);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message.replace(/^--tmpfs \/:/, '') });
  }
}
