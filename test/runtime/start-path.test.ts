import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { BUSYBOX, caught, sh, until } from '../support/runtime.js';

/** A runtime whose sandbox was started with these environment variables. */
async function runtimeWith(env: Record<string, string | undefined>): Promise<Runtime> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return await Runtime.start({ onWarning: () => {} });
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// Both start paths run the same steps: each is checked here whichever one the suite runs on.
describe.each(['native', 'node'])('the %s start path', (path) => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtimeWith({ MAYFLY_START_PATH: path });
  });
  afterAll(() => rt?.close());

  it('is the one the sandbox says it uses', () => {
    expect(rt.info.startPath.toLowerCase()).toMatch(path === 'native' ? /^native/ : /^node shim \(mayfly_start_path=node\)/);
  });

  it('runs the container with its output, hostname and exit code', async () => {
    const c = await rt.run({ layers: [BUSYBOX], command: ['sh', '-c', 'echo out; echo err >&2; hostname; exit 5'], hostname: 'pathbox' });
    expect((await c.wait()).exitCode).toBe(5);
    const logs = await c.logs();
    expect(logs.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['out', 'pathbox']);
    expect(logs.filter((l) => l.stream === 'stderr').map((l) => l.line)).toEqual(['err']);
    await c.remove();
  });

  it('gives the program, and what exec runs, nothing of the sandbox: only fds 0-2, default signals', async () => {
    // ls opens the directory it lists: one more descriptor, its own
    const look = 'echo $(ls /proc/self/fd) $(grep -E "^Sig(Blk|Ign)" /proc/self/status)';
    const c = await rt.run({ layers: [BUSYBOX], command: ['sh', '-c', `${look}; sleep 1000`] });
    try {
      await until(async () => (await c.logs()).length > 0, 5000, 'the first output');
      const started = (await c.logs()).map((l) => l.line).join(' ');
      const exec = await c.exec(['sh', '-c', look]);
      for (const out of [started, exec.stdout]) {
        expect(out).toMatch(/^0 1 2 3 SigBlk: 0+ SigIgn: 0+/);
      }
    } finally {
      await c.remove({ force: true });
    }
  });

  it('names the step that failed, with the errno', async () => {
    const gone = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'gone-'));
    const c = await rt.create({ layers: [BUSYBOX], command: ['true'], binds: [{ source: gone, target: '/data' }] });
    rmSync(gone, { recursive: true });
    const err = await caught(c.start());
    expect(err.code).toBe('CONTAINER_START_FAILED');
    expect(err.details).toMatchObject({ step: 'mount /data', errno: 'ENOENT', exitCode: 125 });
    expect(err.message).toContain(`failed to start at step "mount /data"`);
    await c.remove();
  });

  it('reports an unknown user at "resolve user"', async () => {
    const err = await caught(rt.run({ layers: [BUSYBOX], command: ['true'], user: 'nobody-here' }));
    expect(err.details).toMatchObject({ step: 'resolve user' });
    expect(err.message).toContain("unable to find user nobody-here: no matching entries in the container's /etc/passwd");
  });

  it('gives 126 when the working directory cannot be entered', async () => {
    const err = await caught(rt.run({ layers: [BUSYBOX], command: ['true'], workingDir: '/etc/passwd' }));
    expect(err.code).toBe('COMMAND_NOT_EXECUTABLE');
    expect(err.message).toMatch(/cannot enter working directory \/etc\/passwd: chdir\(\/etc\/passwd\) failed: ENOTDIR/);
  });

  it('reports each of many containers ending together and apart with its own exit code, with execs in between', async () => {
    // several at once (a Node shim costs ~100 ms of CPU: fewer there): half end at once, half run
    // until stopped (one by one, in reverse order) and end with a code of their own; each exit is
    // reaped by the pid the kernel names (runtime/native/pidfd-exits.ts), never mixed up or lost
    const cmd = (i: number) => (i % 2 ? `trap "exit ${i + 1}" TERM; sleep 30 & wait` : `exit ${i + 1}`);
    const cs = await Promise.all(Array.from({ length: path === 'native' ? 12 : 4 }, (_, i) => rt.run({ layers: [BUSYBOX], command: ['sh', '-c', cmd(i)] })));
    const lasting = cs.filter((_, i) => i % 2);
    const execs = await Promise.all(lasting.map((c, i) => c.exec(['sh', '-c', `exit ${20 + i}`])));
    expect(execs.map((r) => r.exitCode)).toEqual(lasting.map((_, i) => 20 + i));
    for (const c of [...lasting].reverse()) await c.stop({ timeout: 10 });
    const codes = await Promise.all(cs.map((c) => c.wait()));
    expect(codes.map((s) => s.exitCode)).toEqual(cs.map((_, i) => i + 1));
    await Promise.all(cs.map((c) => c.remove()));
  });
});

describe('without the native library', () => {
  it('the sandbox falls back to the Node shim and says why', async () => {
    const rt = await runtimeWith({ MAYFLY_START_PATH: undefined, MAYFLY_NATIVE_LIBRARY: '/nonexistent/mayfly-start.so' });
    try {
      expect(rt.info.startPath).toMatch(/^Node shim: the native path cannot be used \(\/nonexistent\/mayfly-start.so is missing/);
      expect((await sh(rt, 'echo fallback')).out).toBe('fallback\n');
    } finally {
      await rt.close();
    }
  });
});
