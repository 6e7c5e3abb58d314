/**
 * What a test asks for, as one validated object: the builder (`container(image).with…()`) and
 * `startContainer({...})` both end here. Unknown keys are errors too — a typo such as `exposedPort`
 * must not silently start a container without its port.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { ContainerOptions } from '../runtime/runtime.js';
import { parseWith } from '../runtime/spec.js';
import type { WaitStrategy } from './wait/index.js';
import { copyItemSchema } from './copy.js';

const port = z.number().int().min(1).max(65535);
const absolute = z.string().refine((p) => isAbsolute(p), { message: 'expected an absolute path' });

const waitStrategy = z.custom<WaitStrategy>((v) => typeof (v as WaitStrategy)?.wait === 'function' && typeof (v as WaitStrategy)?.describe === 'function', {
  message: 'expected a wait strategy made by Wait.for…()',
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
    /** fixed host ports, `docker run -p HOST:CONTAINER` */
    fixedPorts: z.array(z.strictObject({ containerPort: port, hostPort: port })).default([]),
    tmpfs: z.record(absolute, z.string()).default({}),
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
  })
  .refine((o) => o.image || o.layers?.length, { message: 'give an image (or layers)', path: ['image'] })
  .refine((o) => !(o.reuse && o.copies.length), { message: 'a reused container cannot take copies (their contents are not part of what identifies it): copy after start instead', path: ['copies'] });

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
    ports: o.fixedPorts.map((p) => ({ containerPort: p.containerPort, hostPort: p.hostPort })),
    tmpfs: Object.entries(o.tmpfs).map(([path, opts]) => ({ path, ...tmpfsOptions(opts) })),
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
  };
}

/** Testcontainers' tmpfs form: `{ '/data': 'rw,size=64m,mode=1777' }` */
function tmpfsOptions(opts: string): { size?: string; mode?: number } {
  const out: { size?: string; mode?: number } = {};
  for (const kv of opts.split(',').filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    if (k === 'size') out.size = v;
    else if (k === 'mode') out.mode = Number.parseInt(v, 8);
  }
  return out;
}
