/**
 * Who the sandbox answers: one peer per owner. A per-process sandbox has one, its owner's IPC
 * channel; a shared sandbox (shared-server.ts) has one per connection, and each container belongs
 * to the peer that made it: its events go there, and it is removed when that peer goes.
 */
import type { SandboxMessage } from './protocol.js';

export interface Peer {
  send(message: SandboxMessage): void;
  /** ends this peer's session (the `shutdown` request) */
  end(): void;
}

export class Peers {
  readonly all = new Set<Peer>();
  /** container id or exec session → the peer that made it */
  private readonly owners = new Map<string, Peer>();

  own(id: string, peer: Peer): void {
    this.owners.set(id, peer);
  }

  disown(id: string): void {
    this.owners.delete(id);
  }

  /** the ids a peer owns, forgotten here */
  takeAll(peer: Peer): string[] {
    const ids = [...this.owners].filter(([, p]) => p === peer).map(([id]) => id);
    for (const id of ids) this.owners.delete(id);
    return ids;
  }

  /** A container's or session's event to its owner (none: nobody asked for it any more); others to every peer. */
  route(message: SandboxMessage): void {
    const key = 'event' in message ? ('id' in message ? message.id : 'session' in message ? message.session : undefined) : undefined;
    if (key === undefined) {
      for (const p of this.all) p.send(message);
      return;
    }
    this.owners.get(key)?.send(message);
  }
}
