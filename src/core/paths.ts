import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `$MAYFLY_HOME`, else `$XDG_CACHE_HOME/mayfly`, else `~/.cache/mayfly`. */
export function mayflyHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MAYFLY_HOME) return resolve(env.MAYFLY_HOME);
  const cache = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(env.HOME ?? homedir(), '.cache');
  return join(cache, 'mayfly');
}

let root: string | undefined;

/** The package root (the folder with package.json), found from this module's location. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('mayfly: cannot find its package.json');
    dir = up;
  }
  return (root = dir);
}

/**
 * Helper programs run in other processes (inside the namespaces) and must be plain JavaScript, so
 * they always come from the compiled `dist/`, also when the caller runs from TypeScript sources.
 */
export function distFile(relative: string): string {
  return join(packageRoot(), 'dist', relative);
}
