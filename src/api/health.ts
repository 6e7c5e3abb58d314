/**
 * Docker's health checks for containers made over the API (the create body's Healthcheck, else the
 * image's HEALTHCHECK): the test run in the container as Docker runs it, the verdict kept for
 * inspect's `State.Health`. Like the harness's wait, checks start on short polling rather than after
 * a whole first interval (a test wants to go the moment the service is up); "unhealthy" comes no
 * sooner than Docker's: failures in the start period do not count, then `Retries` in a row.
 */
import type { Container } from '../engine/runtime.js';
import type { DockerHealthcheck } from './container-create.js';

const MS = 1_000_000;
const DEFAULT = { interval: 30_000, timeout: 30_000, retries: 3, startPeriod: 0 };
/** how often a check runs until the first verdict */
const EARLY_POLL_MS = 250;
const LOG_KEPT = 5;

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

/** The argv of a Healthcheck's Test, or undefined for none (`NONE`, empty). */
export function healthArgv(test: string[] | null | undefined): string[] | undefined {
  if (!test?.length) return undefined;
  const [kind, ...rest] = test;
  if (kind === 'CMD') return rest.length ? rest : undefined;
  if (kind === 'CMD-SHELL') return ['/bin/sh', '-c', rest.join(' ')];
  return undefined;
}

export class HealthMonitor {
  readonly state: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly container: Container,
    readonly config: DockerHealthcheck & { Test: string[] },
    private readonly onChange: (status: HealthState['Status']) => void,
  ) {}

  start(): void {
    const argv = healthArgv(this.config.Test);
    if (!argv) return;
    this.stopped = false;
    Object.assign(this.state, { Status: 'starting', FailingStreak: 0, Log: [] });
    const startedAt = Date.now();
    const interval = this.config.Interval ? this.config.Interval / MS : DEFAULT.interval;
    const timeout = this.config.Timeout ? this.config.Timeout / MS : DEFAULT.timeout;
    const retries = this.config.Retries || DEFAULT.retries;
    const startPeriod = this.config.StartPeriod ? this.config.StartPeriod / MS : DEFAULT.startPeriod;
    let failingSince: number | undefined;
    const tick = async () => {
      if (this.stopped || this.container.status !== 'running') return;
      const begun = new Date();
      const result = await Promise.race([
        this.container.exec(argv).then(
          (r) => ({ exitCode: r.exitCode, output: (r.output ?? r.stdout + r.stderr).slice(0, 4096) }),
          (e: Error) => ({ exitCode: -1, output: e.message }),
        ),
        new Promise<{ exitCode: number; output: string }>((r) => setTimeout(() => r({ exitCode: -1, output: `Health check exceeded timeout (${timeout}ms)` }), timeout).unref()),
      ]);
      if (this.stopped) return;
      this.state.Log.push({ Start: begun.toISOString(), End: new Date().toISOString(), ExitCode: result.exitCode, Output: result.output });
      if (this.state.Log.length > LOG_KEPT) this.state.Log.shift();
      const before = this.state.Status;
      if (result.exitCode === 0) {
        this.state.FailingStreak = 0;
        failingSince = undefined;
        this.state.Status = 'healthy';
      } else if (this.state.Status !== 'starting' || begun.getTime() - startedAt >= startPeriod) {
        this.state.FailingStreak++;
        failingSince ??= begun.getTime();
        // as many failures in a row as Docker's, over as long as Docker's would take (its checks are an interval apart)
        if (this.state.FailingStreak >= retries && Date.now() - failingSince >= (retries - 1) * interval) this.state.Status = 'unhealthy';
      }
      if (this.state.Status !== before) this.onChange(this.state.Status);
      const next = this.state.Status === 'starting' ? Math.min(interval, EARLY_POLL_MS) : interval;
      this.timer = setTimeout(() => void tick(), next);
      this.timer.unref();
    };
    this.timer = setTimeout(() => void tick(), 0);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
