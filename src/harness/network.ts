/**
 * A private network for a test: containers on it reach each other by name and alias. Ephemeral: it
 * goes when `remove()` is called, or with this process however it ends.
 */
import { randomBytes } from 'node:crypto';
import type { NetworkRecord } from '../network/network-store.js';
import type { Runtime } from '../engine/runtime.js';
import { sharedRuntime } from './session.js';

export class StartedNetwork {
  /** @internal */
  constructor(
    readonly record: NetworkRecord,
    private readonly runtime: Runtime,
  ) {}

  get name(): string {
    return this.record.name;
  }

  /** Removes the network (its containers first: a network in use stays). */
  async remove(): Promise<void> {
    try {
      this.runtime.removeNetwork(this.name, { force: true });
    } catch {
      // gone already
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

export async function network(opts: { name?: string; internal?: boolean; runtime?: Runtime } = {}): Promise<StartedNetwork> {
  const rt = opts.runtime ?? (await sharedRuntime());
  const name = opts.name ?? `mayfly-net-${randomBytes(5).toString('hex')}`;
  return new StartedNetwork(rt.createNetwork({ name, internal: opts.internal ?? false, ephemeral: true }), rt);
}
