/**
 * The sandbox's own memory, for leak checks: RSS alone rises and falls with garbage not yet
 * collected (a thousand container starts can pass before V8 runs a full collection), so when asked
 * a full collection runs first and what remains is what the sandbox really holds.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface OwnMemory {
  /** bytes, as process.memoryUsage() reports them */
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

let collect: (() => void) | undefined;

export function ownMemory(gc: boolean): OwnMemory {
  if (gc) {
    // the gc function exists only with --expose-gc; turned on here, on first use, rather than for every sandbox
    if (!collect) {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
    collect();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}
