import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { BUSYBOX } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
function mayfly(args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    p.stdin.end(o.input ?? '');
  });
}

let ctx: string;
beforeAll(async () => {
  const rt = await Runtime.start({ onWarning: () => {} });
  try {
    await rt.importRootfs(BUSYBOX, 'test/cli-build-base:1');
  } finally {
    await rt.close();
  }
  ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'cli-build-'));
  writeFileSync(join(ctx, 'secret.txt'), 's3cret');
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM test/cli-build-base:1 AS first\nRUN echo never > /x\nFROM test/cli-build-base:1\nARG FROM_ENV\nARG GIVEN\nRUN --mount=type=secret,id=tok echo "$FROM_ENV $GIVEN $(cat /run/secrets/tok)" > /args\nCMD ["cat", "/args"]\n');
});

describe('mayfly build', () => {
  it('-f -, several -t, --build-arg without a value, --secret, --label, --iidfile, --target, plain progress', async () => {
    const iid = join(ctx, 'iid');
    const r = await mayfly(
      ['build', '-f', '-', '-t', 'test/cli-built:1', '-t', 'test/cli-built:latest', '--build-arg', 'FROM_ENV', '--build-arg', 'GIVEN=given', '--secret', `id=tok,src=${join(ctx, 'secret.txt')}`, '--label', 'team=build', '--iidfile', iid, '--progress=plain', ctx],
      { input: readFileSync(join(ctx, 'Dockerfile'), 'utf8'), env: { FROM_ENV: 'from-env' } },
    );
    expect(r.stderr).toMatch(/^#\d+ \[1 \d+\/\d+\] RUN --mount=type=secret,id=tok/m);
    expect(r.stderr).toMatch(/^#\d+ DONE \d+\.\ds$/m);
    expect(r.stderr).not.toContain('never');
    expect(r.status).toBe(0);
    const id = readFileSync(iid, 'utf8');
    expect(r.stdout).toBe(`${id}\n`);
    expect((await mayfly(['run', '--rm', 'test/cli-built:latest'])).stdout).toBe('from-env given s3cret\n');
    const inspect = JSON.parse((await mayfly(['inspect', 'test/cli-built:1'])).stdout) as { Config: { Labels: Record<string, string> } }[];
    expect(inspect[0]!.Config.Labels).toEqual({ team: 'build' });
    const again = await mayfly(['build', '-q', '-t', 'test/cli-built:1', '--build-arg', 'FROM_ENV', '--build-arg', 'GIVEN=given', '--secret', `id=tok,src=${join(ctx, 'secret.txt')}`, '--label', 'team=build', ctx], { env: { FROM_ENV: 'from-env' } });
    expect(again.stdout).toBe(`${id}\n`);
    expect(again.stderr).toBe('');
    const target = await mayfly(['build', '--target', 'first', '--no-cache', '--progress', 'plain', ctx]);
    expect(target.status).toBe(0);
    expect(target.stderr).toMatch(/RUN echo never/);
    expect(target.stderr).not.toMatch(/CACHED/);
  });

  it('--progress auto on a terminal shows the running steps live, redrawn in place', async () => {
    const live = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'cli-live-'));
    writeFileSync(join(live, 'Dockerfile'), 'FROM test/cli-build-base:1\nRUN for i in 1 2 3 4 5; do echo tick $i; sleep 0.2; done\n');
    // util-linux `script` gives the CLI a terminal (a pty) and records what it drew
    const r = await new Promise<{ status: number | null; out: string }>((resolve) => {
      const p = spawn('script', ['-qec', `${process.execPath} ${BIN} build --no-cache ${live}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, COLUMNS: '100' } });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.on('close', (status) => resolve({ status, out }));
      p.stdin.end();
    });
    expect(r.status).toBe(0);
    expect(r.out).toMatch(/=> \[0 2\/2\] RUN for i in/);
    expect(r.out).toMatch(/tick [1-5]/); // the step's last line, under it
    expect(r.out).toMatch(/\x1b\[\d+A\x1b\[J/); // redrawn in place
    expect(r.out).toMatch(/=> \[0 2\/2\] RUN .*  \d+\.\ds/);
  });

  it('bad flags and bad Dockerfiles exit 125 with the reason', async () => {
    expect((await mayfly(['build', '--progress', 'fancy', ctx])).stderr).toContain('invalid value "fancy" for --progress: expected one of auto, plain, tty, quiet');
    const bad = await mayfly(['build', '-f', '-', ctx], { input: 'FROM test/cli-build-base:1\nCOPY --frmo=x a b\n' });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toMatch(/Dockerfile line 2: COPY has no flag --frmo/);
    expect((await mayfly(['build', '--secret', 'src=/x', ctx])).stderr).toMatch(/--secret src=\/x has no id=/);
  });
});
