/**
 * `mayfly serve` and `mayfly docker-env`: the Docker Engine API the keeper serves (src/api), for
 * clients that speak Docker — Testcontainers in any language, the docker CLI, docker-compose.
 * `serve` stays in the foreground (the keeper with it) until interrupted; `docker-env` starts the
 * keeper if needed and prints the line a shell evaluates.
 */
import { keeper } from '../keeper/client.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool } from './command-line/values.js';

async function apiSocket(): Promise<string> {
  const k = await keeper();
  return (await k.request<{ socketPath: string }>({ op: 'api' })).socketPath;
}

/** `eval "$(mayfly docker-env)"` */
export async function dockerEnvCommand({ flags }: ParsedCommand): Promise<number> {
  const host = `unix://${await apiSocket()}`;
  process.stdout.write(bool(flags, 'unset') ? 'unset DOCKER_HOST\n' : `export DOCKER_HOST=${host}\n`);
  return 0;
}

/** `mayfly serve`: prints DOCKER_HOST and holds the keeper until SIGINT or SIGTERM. */
export async function serveCommand(): Promise<number> {
  const path = await apiSocket();
  process.stdout.write(`DOCKER_HOST=unix://${path}\n`);
  process.stderr.write('mayfly: serving the Docker Engine API; Ctrl-C ends this (the containers stay with the keeper)\n');
  const k = await keeper();
  const interrupted = new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => resolve());
  });
  // the open connection keeps the keeper serving; its end (the keeper went away) ends us too
  await k.hold(Promise.race([interrupted, k.closed]));
  return 0;
}
