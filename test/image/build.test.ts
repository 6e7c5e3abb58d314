import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import type { BuildStep } from '../../src/dockerfile/builder.js';
import { BUSYBOX, runToEnd, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();
let context: string;

const DOCKERFILE = `# a Dockerfile using every supported instruction
ARG GREETING=hello
FROM test/busybox-base:1
# a global ARG is seen in a stage only when the stage declares it again, as in Docker
ARG GREETING
ENV APP_HOME=/srv/app \\
    MSG=\${GREETING}
WORKDIR $APP_HOME
COPY index.html ./
COPY --chown=www-data:www-data data/ data/
RUN echo "built $MSG" > built.txt && rm /etc/marker
ADD files.tar.gz /opt/
USER www-data
EXPOSE 8080
LABEL org.example=yes
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD test -f built.txt
CMD ["sh", "-c", "cat built.txt index.html; ls -ln data | tail -1 | awk '{print $3\\":\\"$4}'; id -un; ls /opt; ls /etc/marker 2>&1 || true"]
`;

beforeAll(async () => {
  await runtime().importRootfs(BUSYBOX, 'test/busybox-base:1');
  context = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'ctx-'));
  writeFileSync(join(context, 'Dockerfile'), DOCKERFILE);
  writeFileSync(join(context, 'index.html'), '<h1>v1</h1>\n');
  mkdirSync(join(context, 'data'));
  writeFileSync(join(context, 'data', 'a.txt'), 'a\n');
  mkdirSync(join(context, 'arch'));
  writeFileSync(join(context, 'arch', 'from-tar.txt'), 'x\n');
  execFileSync('tar', ['-czf', join(context, 'files.tar.gz'), '-C', join(context, 'arch'), 'from-tar.txt']);
});

async function build(extra: { buildArgs?: Record<string, string> } = {}): Promise<{ id: string; steps: BuildStep[] }> {
  const steps: BuildStep[] = [];
  const rec = await runtime().build({ context, tag: 'test/app:dev', onStep: (s) => steps.push(s), ...extra });
  return { id: rec.id, steps };
}

async function runImage(image: string): Promise<string> {
  return (await runToEnd(await runtime().create({ image, pull: 'never' }))).out;
}

const layerSteps = (steps: BuildStep[]) => steps.filter((s) => !s.metadata && !s.text.startsWith('FROM'));

describe('build', () => {
  it('builds every supported instruction into a runnable image', async () => {
    const { steps } = await build();
    expect(layerSteps(steps).map((s) => s.text)).toEqual(['WORKDIR $APP_HOME', 'COPY index.html ./', 'COPY --chown=www-data:www-data data/ data/', 'RUN echo "built $MSG" > built.txt && rm /etc/marker', 'ADD files.tar.gz /opt/']);
    expect(await runImage('test/app:dev')).toBe('built hello\n<h1>v1</h1>\n33:33\nwww-data\nfrom-tar.txt\nls: /etc/marker: No such file or directory\n');
    const rec = runtime().images().find((i) => i.names.some((n) => n.endsWith('test/app:dev')))!;
    expect(rec.config.config).toMatchObject({ User: 'www-data', WorkingDir: '/srv/app', ExposedPorts: { '8080/tcp': {} }, Labels: { 'org.example': 'yes' }, StopSignal: 'SIGINT', Healthcheck: { Test: ['CMD-SHELL', 'test -f built.txt'], Interval: 5e9 } });
    expect(rec.layers).toHaveLength(6); // the base, WORKDIR's directory, and one per COPY/RUN/ADD
  });

  it('a rebuild with nothing changed runs no step and gives the same image', async () => {
    const first = await build();
    const again = await build();
    expect(layerSteps(again.steps).every((s) => s.cached)).toBe(true);
    expect(again.id).toBe(first.id);
  });

  it('a changed file rebuilds from its COPY on; build args change what RUN sees', async () => {
    writeFileSync(join(context, 'index.html'), '<h1>v2</h1>\n');
    const changed = layerSteps((await build()).steps);
    expect(changed.map((s) => s.cached)).toEqual([true, false, false, false, false]);
    expect(await runImage('test/app:dev')).toContain('<h1>v2</h1>');
    const withArg = await build({ buildArgs: { GREETING: 'bonjour' } });
    expect(layerSteps(withArg.steps).map((s) => s.cached)).toEqual([true, true, true, false, false]);
    expect(await runImage('test/app:dev')).toMatch(/^built bonjour\n/);
  });

  it('a failing RUN names the line and exit code, and leaves no container', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'ctx-'));
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM test/busybox-base:1\nRUN echo about to fail && exit 3\n');
    const err = await runtime().build({ context: ctx }).catch((e: unknown) => e);
    expect(isMayflyError(err)).toBe(true);
    expect((err as Error).message).toContain('line 2');
    expect((err as Error).message).toContain('exited with 3');
    expect((err as { details: { output: string } }).details.output).toContain('about to fail');
  });

  it('refuses what it cannot do with the line number', async () => {
    const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'ctx-'));
    for (const [df, msg] of [
      ['FROM a\nFETCH x\n', 'line 2: unknown instruction FETCH'],
      ['FROM test/busybox-base:1\nCOPY ../secret /x\n', 'line 2: COPY ../secret is outside the build context'],
      ['RUN x\n', 'line 1: RUN comes before the first FROM'],
    ] as const) {
      writeFileSync(join(ctx, 'Dockerfile'), df);
      await expect(runtime().build({ context: ctx })).rejects.toThrow(msg);
    }
  });
});

describe('commit', () => {
  it('makes an image of a running container changes; the container keeps running', async () => {
    const c = await runtime().create({ image: 'test/busybox-base:1', command: ['sleep', '1000'], env: { STAGE: 'committed' } });
    await c.start();
    await c.exec(['sh', '-c', 'echo state > /made-at-runtime && rm /etc/marker']);
    await runtime().commit(c, 'test/committed:1', { Cmd: ['sh', '-c', 'cat /made-at-runtime; echo $STAGE; ls /etc/marker 2>&1 || true'] });
    expect((await c.exec(['cat', '/etc/hostname'])).exitCode).toBe(0); // its mounts are untouched
    await c.remove({ force: true });
    expect(await runImage('test/committed:1')).toBe('state\ncommitted\nls: /etc/marker: No such file or directory\n');
  });
});
