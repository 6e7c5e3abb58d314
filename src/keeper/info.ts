/** Which keeper runs for a home, read from the file it writes (no connection, nothing else loaded): for `ps` and `inspect`. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mayflyHome } from '../core/paths.js';
import { KEEPER_INFO } from './protocol.js';

/** The keeper running for this home now, from its info file (no connection): pid and sandbox. */
export function runningKeeper(home = mayflyHome()): { pid: number; sandboxId: string; sandboxPid?: number } | undefined {
  let info: { pid: number; sandboxId: string; sandboxPid?: number };
  try {
    info = JSON.parse(readFileSync(join(home, KEEPER_INFO), 'utf8')) as typeof info;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return undefined; // EPERM: alive (someone else's pid now, at worst)
  }
  return info;
}
