/**
 * `post_start` and `pre_stop`: commands run in a service's container right after it starts and
 * right before compose stops it, through the same exec as `compose exec`. A failing post_start
 * fails the start (as docker compose does); a failing pre_stop is reported and the stop goes on.
 */
import { MayflyError } from '../core/errors.js';
import type { KeeperConnection } from '../keeper/client.js';
import type { KeptContainer } from '../keeper/protocol.js';
import type { ExecResult } from '../model/container-types.js';
import type { ComposeProject } from './compose-file.js';
import { envRecord, splitCommand } from './compose-file.js';

export interface Hook {
  argv: string[];
  user?: string;
  workingDir?: string;
  env: Record<string, string>;
}

export function hooksOf(p: ComposeProject, service: string, kind: 'post_start' | 'pre_stop'): Hook[] {
  return (p.content.services[service]?.[kind] ?? []).map((h) => ({
    argv: splitCommand(h.command),
    ...(h.user !== undefined ? { user: String(h.user) } : {}),
    ...(h.working_dir ? { workingDir: h.working_dir } : {}),
    env: envRecord(h.environment, p.vars),
  }));
}

/** Runs the hooks in order; `strict`: a failure throws (post_start), else it is said and the rest run. */
export async function runHooks(k: KeeperConnection, c: KeptContainer, hooks: Hook[], opts: { service: string; kind: 'post_start' | 'pre_stop'; strict: boolean; say: (l: string) => void }): Promise<void> {
  for (const [i, h] of hooks.entries()) {
    let failure: string | undefined;
    try {
      const r = await k.request<ExecResult>({ op: 'exec', container: c.id, argv: h.argv, env: h.env, ...(h.user ? { user: h.user } : {}), ...(h.workingDir ? { workingDir: h.workingDir } : {}) });
      if (r.exitCode !== 0) failure = `exited with ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}` : ''}`;
    } catch (e) {
      failure = (e as Error).message.split('\n')[0];
    }
    if (!failure) continue;
    const message = `service ${opts.service}: ${opts.kind}[${i}] (${h.argv.join(' ')}) ${failure}`;
    if (opts.strict) throw new MayflyError('EXEC_FAILED', message);
    opts.say(`warning: ${message}`);
  }
}
