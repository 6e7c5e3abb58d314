import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import { BUSYBOX, caught, isRoot, sh, until, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();
const sleeper = (extra: Record<string, unknown> = {}) => runtime().create({ layers: [BUSYBOX], command: ['sleep', '1000'], ...extra });

describe('exit codes (Docker conventions)', () => {
  it('returns the command own exit code', async () => {
    expect((await sh(runtime(), 'exit 3')).exitCode).toBe(3);
    expect((await sh(runtime(), 'true')).exitCode).toBe(0);
  });

  it('fails with COMMAND_NOT_FOUND (127) and COMMAND_NOT_EXECUTABLE (126)', async () => {
    const rt = runtime();
    const notFound = await rt.run({ layers: [BUSYBOX], command: ['no-such-command'] }).catch((e: unknown) => e);
    expect(isMayflyError(notFound, 'COMMAND_NOT_FOUND')).toBe(true);
    expect((notFound as Error).message).toContain('executable file not found in $PATH');
    const notExec = await rt.run({ layers: [BUSYBOX], command: ['/etc/passwd'] }).catch((e: unknown) => e);
    expect(isMayflyError(notExec, 'COMMAND_NOT_EXECUTABLE')).toBe(true);
  });

  it('rejects wrong options by field name before anything starts', async () => {
    const err = await runtime()
      .create({ layers: [BUSYBOX], command: ['true'], tmpfs: [{ path: 'data' }], limits: { memory: 'lots' } })
      .catch((e: unknown) => e);
    expect(isMayflyError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('tmpfs.0.path');
    expect((err as Error).message).toContain('limits.memory');
  });
});

describe('stop and kill', () => {
  it('stop: PID 1 without a SIGTERM handler is killed after the timeout (137)', async () => {
    const c = await sleeper({ stopTimeout: 0.3 });
    await c.start();
    const t = Date.now();
    expect((await c.stop()).exitCode).toBe(137);
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
    await c.remove();
  });

  it('stop: a process that handles SIGTERM exits with its own code', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'], stopTimeout: 5 });
    await c.start();
    await new Promise((r) => setTimeout(r, 100));
    expect((await c.stop()).exitCode).toBe(7);
    await c.remove();
  });

  it('init: tini forwards SIGTERM, so a plain sleep dies of it (143)', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sleep', '1043'], init: true, stopTimeout: 5 });
    await c.start();
    if (runtime().info.startLimits.proc === 'new') {
      expect((await c.exec(['cat', '/proc/1/cmdline'])).stdout).toContain('/dev/init');
    } else {
      // the container sees the job's /proc (a CI job's masked /proc): its PID 1 is there under the job's
      // pid — once its execve is through (a start returns while it is under way: "[init]" until then)
      await until(async () => (await c.exec(['ps', '-o', 'args'])).stdout.includes('/dev/init -- sleep 1043'), 5000, 'tini in ps');
    }
    expect((await c.stop()).exitCode).toBe(143);
    await c.remove();
  });

  it('kill sends the signal; SIGKILL gives 137', async () => {
    const c = await sleeper();
    await c.start();
    await c.kill('SIGKILL');
    expect((await c.wait()).exitCode).toBe(137);
    await c.remove();
  });

  it('restart keeps the upper dir and starts the command again', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'echo run >> /runs; sleep 1000'], stopTimeout: 0 });
    // read inside: where the upper dir lives depends on the rootfs driver (a tmpfs of the sandbox in a CI job)
    const runs = () => c.exec(['cat', '/runs']).then((r) => r.stdout, () => '');
    await c.start();
    // the first run must have written before it is killed (on a busy machine the shell may not have yet)
    await until(async () => (await runs()) === 'run\n', 5000, 'the first run');
    await c.restart({ timeout: 0 });
    await until(async () => (await runs()) === 'run\nrun\n', 5000, 'two runs');
    await c.remove({ force: true });
  });

  it('remove refuses a running container unless forced', async () => {
    const c = await sleeper();
    await c.start();
    const err = await c.remove().catch((e: unknown) => e);
    expect(isMayflyError(err, 'CONTAINER_STATE')).toBe(true);
    await c.remove({ force: true });
    expect(c.status).toBe('removed');
  });
});

describe('exec', () => {
  it('runs in the container: its files, env, user, working dir, exit code', async () => {
    const c = await sleeper({ env: { GREETING: 'hi' }, hostname: 'exec-box' });
    await c.start();
    // with one id mapped (no subordinate range, or a CI job's container without CAP_SYS_ADMIN) only root exists inside
    const single = runtime().info.idMapping.single;
    const r = await c.exec(['sh', '-c', 'echo $GREETING $EXTRA; hostname; echo $HOSTNAME; cat /etc/hostname; id -u; pwd; cat /etc/marker; exit 4'], { env: { EXTRA: 'there' }, user: single ? 'root' : 'www-data', workingDir: '/tmp' });
    expect(r.exitCode).toBe(4);
    // where seccomp refuses sethostname (a CI job's container) uname keeps the sandbox's name, and the start says so
    const uname = runtime().info.startLimits.sethostname ? 'exec-box' : hostname();
    expect(r.stdout.split('\n')).toEqual(['hi there', uname, 'exec-box', 'exec-box', single ? '0' : '33', '/tmp', 'from the layer', '']);
    if (single) {
      // another user cannot exist there: the error says so, and what would map more ids
      const refused = await caught(c.exec(['id'], { user: 'www-data' }));
      expect(refused.message).toContain('setresgid(33) failed: EINVAL');
      expect(refused.hint).toContain('only one user id is mapped into containers');
    }
    const ps = await c.exec(['ps', '-o', 'pid,comm']);
    // a fresh /proc shows the container's own pids; a bind of the job's (runtime/proc-mode.ts) the job's
    expect(ps.stdout).toMatch(runtime().info.startLimits.proc === 'new' ? /\n\s+1 sleep/ : /\n\s+\d+ sleep/);
    const missing = await c.exec(['nope']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('executable file not found');
    await c.remove({ force: true });
  });
});

describe('pause', () => {
  // without limits a container has no cgroup and pauses by SIGSTOP; with limits the freezer does it where
  // cgroups are ours (root here; not in a CI job's container, whose cgroups are read-only)
  const freezer = (): string => (isRoot && !runtime().info.cgroups.startsWith('none') ? 'freezer' : 'sigstop');
  it.each([
    ['no cgroup', {}, (): string => 'sigstop'],
    ['a cgroup', { limits: { pids: 100 } }, freezer],
  ])('really freezes (%s): a counter stops moving, then moves again', async (_what, extra, expected) => {
    // the counter goes to a bind mount: a paused container cannot be asked, and its upper dir may be out of sight
    const out = mkdtempSync(join(tmpdir(), 'mayfly-pause-'));
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /out/n; done'], binds: [{ source: out, target: '/out' }], ...extra });
    await c.start();
    const count = () => {
      try {
        return Number(readFileSync(join(out, 'n'), 'utf8').trim() || 0);
      } catch {
        return 0; // not written yet
      }
    };
    // generous: at load 20 on 2 cores a shell loop was seen to take more than 5 s to count to 10 (the test's own timeout is 30 s)
    await until(() => count() > 10, 12_000, 'the counter to start');
    const method = await c.pause();
    expect(method).toBe(expected());
    await new Promise((r) => setTimeout(r, 100));
    const frozen = count();
    await new Promise((r) => setTimeout(r, 300));
    expect(count()).toBe(frozen);
    await c.unpause();
    await until(() => count() > frozen + 10, 12_000, 'the counter to move again');
    await c.remove({ force: true });
    rmSync(out, { recursive: true, force: true });
  });
});

describe('logs and stats', () => {
  it('keeps stdout and stderr with timestamps', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'echo out1; echo err1 >&2; printf partial'] });
    await c.start();
    await c.wait();
    const logs = await c.logs();
    expect(logs.map((l) => [l.stream, l.line])).toEqual(expect.arrayContaining([['stdout', 'out1'], ['stderr', 'err1'], ['stdout', 'partial']]));
    expect(Date.parse(logs[0]!.time)).toBeGreaterThan(Date.now() - 60_000);
    expect((await c.logs({ stream: 'stderr' })).map((l) => l.line)).toEqual(['err1']);
    await c.remove();
  });

  it('reports cpu, memory and process counts', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'] });
    await c.start();
    await until(async () => ((await c.stats()).pids ?? 0) >= 3, 5000, 'three processes');
    const s = await c.stats();
    expect(s.memoryBytes).toBeGreaterThan(0);
    expect(s.cpuNs).toBeGreaterThanOrEqual(0);
    await c.remove({ force: true });
  });
});

describe('closing the runtime', () => {
  it('ends pending waits (137) instead of keeping the process alive', async () => {
    const { Runtime } = await import('../../src/engine/runtime.js');
    const rt = await Runtime.start({ onWarning: () => {} });
    const c = await rt.create({ layers: [BUSYBOX], command: ['sleep', '1000'] });
    await c.start();
    const waiting = c.wait();
    await rt.close();
    expect((await waiting).exitCode).toBe(137);
  });
});
