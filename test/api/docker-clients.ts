/**
 * Docker's own clients, unmodified (Debian's docker.io CLI and docker-compose, scripts/system-packages.sh),
 * pointed at this run's keeper with DOCKER_HOST — never at a Docker daemon. Each call is async, so
 * that a registry or server in the test process keeps serving while the client runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { keeper } from '../../src/keeper/client.js';
import { dockerHost } from '../../src/api/socket-path.js';

/** Debian's CLI by path: another `docker` earlier in PATH is not the client these tests are about. */
export const DOCKER = '/usr/bin/docker';
export const DOCKER_COMPOSE = '/usr/bin/docker-compose';

export interface ClientResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

let env: NodeJS.ProcessEnv | undefined;

/** The keeper (and its API socket) up, and the clients' environment: DOCKER_HOST, a config dir of their own. */
export async function dockerEnv(): Promise<NodeJS.ProcessEnv> {
  if (env) return env;
  await keeper();
  const config = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'docker-config-'));
  // /usr/bin first: docker-compose builds by running `docker build`, which must be Debian's CLI too
  env = { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}`, DOCKER_HOST: dockerHost(process.env.MAYFLY_HOME!), DOCKER_CONFIG: config };
  return env;
}

export function client(bin: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    void dockerEnv().then((e) => {
      const p = spawn(bin, args, { env: e, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('error', reject);
      p.on('close', (status) => resolve({ status, stdout, stderr }));
      p.stdin.end(opts.input ?? '');
    }, reject);
  });
}

export const docker = (...args: string[]) => client(DOCKER, args);

/** A call that must succeed: its stdout, or an error with everything the client said. */
export async function ok(bin: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  const r = await client(bin, args, opts);
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export const dockerOk = (...args: string[]) => ok(DOCKER, args);
