/**
 * The events `/events` streams, in Docker's shape: container lifecycle (create, start, die, stop,
 * kill, pause, unpause, destroy, exec_create, exec_start…), network and image events. Kept for a
 * while so that `since` replays what a client asked about before it subscribed.
 */
import { EventEmitter } from 'node:events';

export interface DockerEvent {
  Type: 'container' | 'network' | 'image' | 'volume';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** the pre-1.22 fields, still read by some clients */
  status?: string;
  id?: string;
  from?: string;
}

const KEPT = 1000;

export class ApiEvents {
  private readonly recent: DockerEvent[] = [];
  private readonly bus = new EventEmitter();

  constructor() {
    this.bus.setMaxListeners(0);
  }

  emit(type: DockerEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const now = Date.now();
    const e: DockerEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Math.floor(now / 1000),
      timeNano: now * 1_000_000,
      ...(type === 'container' ? { status: action, id, ...(attributes.image ? { from: attributes.image } : {}) } : {}),
    };
    this.recent.push(e);
    if (this.recent.length > KEPT) this.recent.splice(0, this.recent.length - KEPT);
    this.bus.emit('event', e);
  }

  /** events at or after `sinceNano`, as kept */
  since(sinceNano: number): DockerEvent[] {
    return this.recent.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(listener: (e: DockerEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }
}
