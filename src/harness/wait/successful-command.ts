/**
 * Ready when a command run inside the container exits 0 — the service's own client asking it
 * (`pg_isready`, `redis-cli ping`, `mongosh --eval 'db.runCommand({ping: 1})'`).
 */
import type { ExecResult } from '../../model/container-types.js';
import { attemptWithin, firstLine, formatDuration, notYet, pollUntilReady, READY, type Attempt } from './poll.js';
import type { WaitContext, WaitStrategy } from './types.js';
import { checkCommand, checkPositiveMs, describeArgv } from './validate.js';

const CALL = 'Wait.forSuccessfulCommand';
const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;

export interface SuccessfulCommandOptions {
  /** how long one run may take before it counts as a failed attempt (it is not killed); default 10 s */
  attemptTimeoutMs?: number;
}

export class SuccessfulCommandWaitStrategy implements WaitStrategy {
  private readonly argv: string[];
  private readonly attemptTimeoutMs: number;

  /** `command`: an argv, or a shell command line run by /bin/sh -c */
  constructor(command: string | string[], options: SuccessfulCommandOptions = {}) {
    this.argv = checkCommand(CALL, 'command', command);
    this.attemptTimeoutMs = checkPositiveMs(CALL, 'options.attemptTimeoutMs', options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS);
  }

  describe(): string {
    return `command ${describeArgv(this.argv)} exiting 0`;
  }

  async wait(ctx: WaitContext): Promise<void> {
    await pollUntilReady(ctx, () => runOnce(ctx, this.argv, this.attemptTimeoutMs));
  }
}

/** One run of a readiness command, as the strategies that exec report it. */
export async function runOnce(ctx: WaitContext, argv: string[], timeoutMs: number): Promise<Attempt> {
  const ran = ctx.target.exec(argv).then(
    (r) => (r.exitCode === 0 ? READY : notYet(describeExit(r), exitHint(r))),
    (e: unknown) => notYet(`exec failed: ${firstLine(e instanceof Error ? e.message : String(e))}`),
  );
  return attemptWithin(timeoutMs, ran, () => notYet(`no exit within ${formatDuration(timeoutMs)}`));
}

export function describeExit(r: ExecResult): string {
  const said = firstLine(r.stderr) || firstLine(r.stdout);
  return `exit ${r.exitCode}${said ? `: ${said}` : ' (no output)'}`;
}

function exitHint(r: ExecResult): string | undefined {
  if (r.exitCode === 127) return 'the command is not found in the container: is it in the image, on its PATH?';
  if (r.exitCode === 126) return 'the command is not executable in the container';
  return undefined;
}
