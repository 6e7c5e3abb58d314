/**
 * `exposeHostPorts(port…)`, Testcontainers' TestContainers.exposeHostPorts: servers the test process
 * runs on the host's loopback become reachable from the containers this process starts afterwards,
 * as host.mayfly.internal:PORT — those ports only. The rest of the host's loopback stays out of
 * reach (mayfly's default, as podman's and rootlesskit's).
 */
import { z } from 'zod';
import { parseWith } from '../core/validate.js';

const exposed = new Set<number>();

const portsSchema = z.array(z.number().int().min(1).max(65535)).min(1, 'give at least one port');

/** Adds host ports every container started afterwards by this process's harness may reach. */
export async function exposeHostPorts(...ports: number[]): Promise<void> {
  for (const p of parseWith(portsSchema, ports, 'exposeHostPorts ports')) exposed.add(p);
}

/** The ports exposed so far, in the order first given. */
export function exposedHostPorts(): number[] {
  return [...exposed];
}
