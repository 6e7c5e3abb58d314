/** Where things live under MAYFLY_HOME. Plain paths: readers (ps, inspect) load nothing more than this. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Layout {
  home: string;
  containers: string;
  sandboxes: string;
  volumes: string;
  names: string;
  networks: string;
}

export function layoutOf(home: string): Layout {
  return {
    home,
    containers: join(home, 'containers'),
    sandboxes: join(home, 'sandboxes'),
    volumes: join(home, 'volumes'),
    names: join(home, 'names'),
    networks: join(home, 'networks'),
  };
}

export function ensureLayout(l: Layout): void {
  for (const d of [l.containers, l.sandboxes, l.volumes, l.names, l.networks]) mkdirSync(d, { recursive: true, mode: 0o700 });
}
