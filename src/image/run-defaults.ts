/**
 * An image's configuration as run defaults, with Docker's precedence: the caller's command replaces
 * the image's Cmd; the caller's entrypoint replaces the image's Entrypoint and drops its Cmd; env
 * merges (the caller's wins); user, working dir and stop signal fall back to the image's.
 */
import type { ImageConfigFile } from './store/image-config.js';

export interface RunOverrides {
  command?: string[];
  entrypoint?: string[];
  env?: Record<string, string>;
  user?: string;
  workingDir?: string;
  stopSignal?: string;
  labels?: Record<string, string>;
}

export interface RunDefaults {
  /** entrypoint + cmd */
  command: string[];
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
  user: string;
  workingDir: string;
  stopSignal?: string;
  labels: Record<string, string>;
  /** container ports the image declares, e.g. [80] (tcp), for publishing */
  exposedPorts: { port: number; protocol: 'tcp' | 'udp' }[];
}

export function envToRecord(env: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const i = e.indexOf('=');
    if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
  }
  return out;
}

export function runDefaults(image: ImageConfigFile, o: RunOverrides = {}): RunDefaults {
  const c = image.config ?? {};
  const entrypoint = o.entrypoint ?? c.Entrypoint ?? [];
  const cmd = o.command ?? (o.entrypoint ? [] : (c.Cmd ?? []));
  const stopSignal = o.stopSignal ?? c.StopSignal;
  return {
    command: [...entrypoint, ...cmd],
    entrypoint: [...entrypoint],
    cmd: [...cmd],
    env: { ...envToRecord(c.Env), ...o.env },
    user: o.user ?? (c.User || '0:0'),
    workingDir: o.workingDir ?? (c.WorkingDir || '/'),
    ...(stopSignal ? { stopSignal } : {}),
    labels: { ...(c.Labels ?? {}), ...o.labels },
    exposedPorts: Object.keys(c.ExposedPorts ?? {}).map((k) => {
      const [port, proto] = k.split('/');
      return { port: Number(port), protocol: proto === 'udp' ? 'udp' : 'tcp' };
    }),
  };
}
