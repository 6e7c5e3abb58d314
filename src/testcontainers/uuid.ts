/** Names Testcontainers makes up (networks, compose projects): a source of fresh ones, replaceable in tests. */
import { randomUUID } from 'node:crypto';

export interface Uuid {
  nextUuid(): string;
}

export class RandomUuid implements Uuid {
  nextUuid(): string {
    return randomUuid();
  }
}

/** 12 hex characters, as Testcontainers' own */
export const randomUuid = (): string => randomUUID().replaceAll('-', '').slice(0, 12);
