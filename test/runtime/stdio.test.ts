import { describe, expect, it } from 'vitest';
import { sh, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();

describe('container output', () => {
  it('fd 1 and 2 are pipes: /dev/stdout and /dev/stderr can be opened (nginx logs there)', async () => {
    const r = await sh(runtime(), 'echo to-stdout > /dev/stdout; echo to-stderr > /dev/stderr; readlink /proc/self/fd/1 | cut -d: -f1');
    expect(r.exitCode).toBe(0);
    expect(r.out).toContain('to-stdout\n');
    expect(r.out).toContain('to-stderr\n');
    expect(r.out).toContain('pipe\n');
  });

  it('the last lines written before exit are in the log when the exit is reported', async () => {
    const c = await runtime().run({ layers: [process.env.MAYFLY_TEST_BUSYBOX!], command: ['sh', '-c', 'seq 1 2000; echo last >&2'] });
    await c.wait();
    const logs = await c.logs();
    expect(logs.filter((l) => l.stream === 'stdout')).toHaveLength(2000);
    expect(logs.at(-1)).toMatchObject({ stream: 'stderr', line: 'last' });
    await c.remove();
  });

  it('exec output through /dev/stdout too', async () => {
    const c = await runtime().run({ layers: [process.env.MAYFLY_TEST_BUSYBOX!], command: ['sleep', '30'] });
    const r = await c.exec(['sh', '-c', 'echo hi > /dev/stdout; echo err > /dev/stderr']);
    expect(r).toMatchObject({ exitCode: 0, stdout: 'hi\n', stderr: 'err\n' });
    await c.remove({ force: true });
  });
});
