import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildOptions, BuildStep } from '../../src/dockerfile/builder.js';
import { BUSYBOX, caught, runToEnd, useRuntime } from '../support/runtime.js';

// Real builds through the real runtime, one Dockerfile feature after the other, on a busybox base.
const { runtime } = useRuntime();
const BASE = 'test/busybox-base:1';
let server: Server;
let origin: string;
const served: Record<string, Buffer> = {};

beforeAll(async () => {
  await runtime().importRootfs(BUSYBOX, BASE);
  served['/files/notes.txt'] = Buffer.from('downloaded notes\n');
  server = createServer((req, res) => {
    const body = served[req.url ?? ''];
    if (!body) {
      res.writeHead(404).end('not here');
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
});

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'build-ctx-'));
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

async function build(ctx: string, extra: Partial<BuildOptions> = {}): Promise<{ id: string; steps: BuildStep[]; warnings: string[] }> {
  const steps: BuildStep[] = [];
  const warnings: string[] = [];
  const rec = await runtime().build({ context: ctx, onStep: (s) => steps.push(s), onWarning: (w) => warnings.push(w), ...extra });
  return { id: rec.id, steps, warnings };
}

async function output(image: string, command?: string[]): Promise<string> {
  const r = await runToEnd(await runtime().create({ image, pull: 'never', ...(command ? { entrypoint: command } : {}) }));
  return r.out;
}

const ran = (steps: BuildStep[]) => steps.filter((s) => !s.metadata && !s.text.startsWith('FROM') && !s.cached).map((s) => s.text);

describe('multi-stage builds', () => {
  const dockerfile = [
    'ARG BASE=test/busybox-base:1',
    'FROM --platform=$BUILDPLATFORM ${BASE} as Builder',
    'ARG TARGETARCH',
    'ARG TARGETPLATFORM',
    'RUN mkdir -p /out && echo "$TARGETARCH $TARGETPLATFORM" > /out/platform && echo a > /out/a.txt && echo b > /out/b.txt && ln -s a.txt /out/link',
    'from ${BASE} AS unused',
    'RUN echo this stage is never needed && exit 1',
    'FROM builder AS second',
    'RUN echo second > /out/second.txt',
    'FROM scratch AS files',
    'COPY --from=builder /out/*.txt /txt/',
    'FROM ${BASE}',
    'COPY --from=0 /out/platform /platform',
    'COPY --from=files /txt/ /txt/',
    'COPY --from=second --chmod=0600 /out/second.txt /second.txt',
    'COPY --from=builder /out/link /link',
    'COPY --from=test/busybox-base:1 /bin/busybox /copied-from-an-image',
    'CMD ["sh", "-c", "cat /platform /txt/a.txt /txt/b.txt /second.txt; readlink /link; stat -c %a /second.txt; test -x /copied-from-an-image && echo image"]',
    '',
  ].join('\n');

  it('builds the stages the target needs, by name, index and image, and skips the others', async () => {
    const ctx = context({ Dockerfile: dockerfile });
    const { id, steps } = await build(ctx, { tag: 'test/multi:1' });
    expect(steps.some((s) => s.text.includes('never needed'))).toBe(false);
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch;
    expect(await output(id)).toBe(`${arch} linux/${arch}\na\nb\nsecond\na.txt\n600\nimage\n`);
  });

  it('--target builds a stage and what it needs', async () => {
    const ctx = context({ Dockerfile: dockerfile });
    const { id, steps } = await build(ctx, { target: 'SECOND' });
    expect(new Set(steps.map((s) => s.stage))).toEqual(new Set(['builder', 'second']));
    expect(await output(id, ['cat', '/out/second.txt'])).toBe('second\n');
  });

  it('builds stages that do not need each other side by side', async () => {
    // /proc/uptime is the machine's clock in centiseconds, the same in every container
    const stage = (name: string) => [`FROM test/busybox-base:1 AS ${name}`, `RUN cut -d" " -f1 /proc/uptime > /start && sleep 1.5 && cut -d" " -f1 /proc/uptime > /end && echo ${name}`];
    const ctx = context({ Dockerfile: [...stage('a'), ...stage('b'), 'FROM test/busybox-base:1', 'COPY --from=a /start /a-start', 'COPY --from=a /end /a-end', 'COPY --from=b /start /b-start', 'COPY --from=b /end /b-end', ''].join('\n') });
    const { id } = await build(ctx);
    const [aStart, aEnd, bStart, bEnd] = (await output(id, ['cat', '/a-start', '/a-end', '/b-start', '/b-end'])).trim().split('\n').map(Number);
    // each started before the other ended: their RUN steps overlapped
    expect(aStart! < bEnd! && bStart! < aEnd!).toBe(true);
  });

  it.each([
    ['FROM a AS x\nCOPY --from=y /a /a\nFROM a AS y\nCOPY --from=x /b /b\n', {}, /line 2: a cycle of stages: stage "y" needs stage "x" \(line 4\), stage "x" needs stage "y" \(line 2\)/],
    ['FROM test/busybox-base:1 AS x\n', { target: 'nope' }, /--target nope: the Dockerfile has no stage named nope/],
    ['FROM --platform=linux/s390x test/busybox-base:1\n', {}, /line 1: FROM --platform=linux\/s390x: mayfly builds for this machine's platform/],
    ['FROM test/busybox-base:1\nCOPY --from=5 /a /a\n', {}, /line 2: --from=5: there is no stage 5/],
    ['FROM test/busybox-base:1\nCOPY *.none /x/\n', {}, /line 2: COPY no file in the build context matches \*\.none/],
    ['FROM test/busybox-base:1\nCOPY Dockerfile Dockerfile /x\n', {}, /line 2: COPY with several sources needs a directory destination ending in \//],
    ['FROM test/busybox-base:1\nRUN --mount=type=secret,id=tok,required cat /run/secrets/tok\n', {}, /line 2: the secret "tok" is required and was not given/],
    ['FROM test/busybox-base:1\nCOPY --chown=nobody-here /Dockerfile /x\n', {}, /line 2: --chown=nobody-here: unable to find user nobody-here/],
    ['FROM test/busybox-base:1\nRUN exit 7\n', { tag: 'test/never-named:1' }, /line 2: RUN exit 7 exited with 7/],
  ])('%j fails with its line', async (text, extra, message) => {
    const e = await caught(build(context({ Dockerfile: text }), extra));
    expect(e.message).toMatch(message);
    expect(runtime().images().some((i) => i.names.some((n) => n.includes('never-named')))).toBe(false);
  });
});

describe('instructions', () => {
  it('heredocs, SHELL, the escape directive, ONBUILD, and the image settings', async () => {
    const ctx = context({
      'base/Dockerfile': ['FROM test/busybox-base:1', 'ONBUILD RUN echo triggered > /onbuild.txt', ''].join('\n'),
      Dockerfile: [
        '# syntax=docker/dockerfile:1.7',
        '# escape=`',
        'FROM test/onbuild-base:1',
        'ARG WHO=world',
        'RUN <<EOF',
        'echo "hello $WHO" > /hello.txt',
        'EOF',
        'RUN <<EOF',
        '#!/bin/sh',
        'echo "a script at $0" > /shebang.txt',
        'EOF',
        'RUN cat > /two.txt <<A && cat >> /two.txt <<-B',
        'first',
        'A',
        '\tsecond',
        '\tB',
        'COPY <<CONF /etc/app.conf',
        'name=$WHO "quoted" `$literal',
        'CONF',
        'SHELL ["/bin/sh", "-ec"]',
        'RUN echo "shell $0" > /shell.txt; echo one `',
        '    two > /escape.txt',
        'ENV PORT=8080',
        'EXPOSE $PORT 53/udp 9000-9001',
        'LABEL "org.example.team"="build crew" version=2',
        'STOPSIGNAL SIGQUIT',
        'HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=4 CMD test -f /hello.txt',
        'USER www-data',
        'WORKDIR /home/site',
        'VOLUME /data',
        'ENTRYPOINT cat /hello.txt /shebang.txt /two.txt /etc/app.conf /shell.txt /escape.txt /onbuild.txt',
        '',
      ].join('\n'),
    });
    await runtime().build({ context: join(ctx, 'base'), tag: 'test/onbuild-base:1' });
    const { id, warnings } = await build(ctx, { tag: 'test/instructions:1' });
    expect(warnings).toContain('# syntax=docker/dockerfile:1.7: mayfly uses its built-in Dockerfile frontend');
    expect(await output(id)).toBe(
      ['hello world', 'a script at /dev/pipes/EOF', 'first', 'second', 'name=world "quoted" $literal', 'shell /bin/sh', 'one two', 'triggered', ''].join('\n'),
    );
    const config = runtime().inspect(id).config.config!;
    expect(config).toMatchObject({
      User: 'www-data',
      WorkingDir: '/home/site',
      ExposedPorts: { '8080/tcp': {}, '53/udp': {}, '9000/tcp': {}, '9001/tcp': {} },
      Labels: { 'org.example.team': 'build crew', version: '2' },
      StopSignal: 'SIGQUIT',
      Healthcheck: { Test: ['CMD-SHELL', 'test -f /hello.txt'], Interval: 5e9, Timeout: 2e9, StartPeriod: 1e9, Retries: 4 },
      Volumes: { '/data': {} },
      Shell: ['/bin/sh', '-ec'],
      Entrypoint: ['/bin/sh', '-ec', 'cat /hello.txt /shebang.txt /two.txt /etc/app.conf /shell.txt /escape.txt /onbuild.txt'],
    });
    expect(config.OnBuild ?? null).toBeNull(); // triggers do not pass on to grandchildren
    // WORKDIR made the directory, owned by USER
    expect(await output(id, ['stat', '-c', '%U %a', '/home/site'])).toBe('www-data 755\n');
  });

  it('.dockerignore, wildcards, --chown by name, --chmod, symlinks; an ignored file changes nothing', async () => {
    const ctx = context({
      Dockerfile: ['FROM test/busybox-base:1', 'COPY package*.json /app/', 'COPY --chown=www-data:www-data --chmod=640 . /app/', 'CMD ["sh", "-c", "cd /app && find . | sort && stat -c \'%U:%G %a\' src/index.ts && readlink src/escape"]', ''].join('\n'),
      '.dockerignore': 'node_modules\n.env\nlogs/*\n!logs/keep.log\n**/*.tmp\n',
      'package.json': '{}',
      'package-lock.json': '{}',
      'src/index.ts': 'export {}\n',
      'src/scratch.tmp': 'x',
      'node_modules/dep/index.js': 'x',
      '.env': 'SECRET=1',
      'logs/keep.log': 'k',
      'logs/drop.log': 'd',
    });
    symlinkSync('/etc/shadow', join(ctx, 'src', 'escape'));
    const first = await build(ctx, { tag: 'test/ignore:1' });
    expect(await output(first.id)).toBe(
      ['.', './.dockerignore', './Dockerfile', './logs', './logs/keep.log', './package-lock.json', './package.json', './src', './src/escape', './src/index.ts', 'www-data:www-data 640', '/etc/shadow', ''].join('\n'),
    );
    writeFileSync(join(ctx, 'node_modules', 'dep', 'index.js'), 'changed');
    writeFileSync(join(ctx, '.env'), 'SECRET=2');
    writeFileSync(join(ctx, 'logs', 'drop.log'), 'changed');
    const again = await build(ctx, { tag: 'test/ignore:1' });
    expect(ran(again.steps)).toEqual([]);
    expect(again.id).toBe(first.id);
    writeFileSync(join(ctx, 'src', 'index.ts'), 'export const x = 1;\n');
    const changed = await build(ctx, { tag: 'test/ignore:1' });
    expect(ran(changed.steps)).toEqual(['COPY --chown=www-data:www-data --chmod=640 . /app/']);
  });

  it('ADD: a URL checked against --checksum, a local tar unpacked; a wrong checksum or a 404 names the line', async () => {
    const sum = createHash('sha256').update(served['/files/notes.txt']!).digest('hex');
    const arch = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'arch-'));
    writeFileSync(join(arch, 'inside.txt'), 'from the tar\n');
    const ctx = context({ Dockerfile: ['FROM test/busybox-base:1', `ADD --checksum=sha256:${sum} ${origin}/files/notes.txt /downloads/`, 'ADD files.tgz /unpacked/', 'CMD ["sh", "-c", "cat /downloads/notes.txt /unpacked/inside.txt; stat -c %a /downloads/notes.txt"]', ''].join('\n') });
    execFileSync('tar', ['-czf', join(ctx, 'files.tgz'), '-C', arch, 'inside.txt']);
    const { id } = await build(ctx);
    expect(await output(id)).toBe('downloaded notes\nfrom the tar\n600\n');
    writeFileSync(join(ctx, 'Dockerfile'), `FROM test/busybox-base:1\nADD --checksum=sha256:${'0'.repeat(64)} ${origin}/files/notes.txt /n\n`);
    expect((await caught(build(ctx))).message).toMatch(/line 2: ADD .*notes\.txt: the file's sha256 is not the --checksum given/);
    writeFileSync(join(ctx, 'Dockerfile'), `FROM test/busybox-base:1\nADD ${origin}/missing /n\n`);
    expect((await caught(build(ctx))).message).toMatch(/line 2: ADD .*\/missing: the server answered 404/);
    rmSync(arch, { recursive: true, force: true });
  });
});

describe('RUN mounts and network', () => {
  it('a cache mount is kept between builds and stays out of the image', async () => {
    const ctx = context({ Dockerfile: 'FROM test/busybox-base:1\nRUN --mount=type=cache,target=/var/cache/demo echo first >> /var/cache/demo/log\n' });
    await build(ctx);
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM test/busybox-base:1\nRUN --mount=type=cache,target=/var/cache/demo,sharing=locked cp /var/cache/demo/log /seen\n');
    const { id } = await build(ctx);
    expect(await output(id, ['sh', '-c', 'cat /seen; ls /var/cache/demo 2>&1'])).toBe('first\nls: /var/cache/demo: No such file or directory\n');
  });

  it('a secret is there for the step only: not in a layer, the history or the cache key', async () => {
    const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'secret-'));
    writeFileSync(join(dir, 'token'), 'hunter2-secret-value');
    process.env.MAYFLY_TEST_SECRET_ENV = 'env-secret-value';
    const ctx = context({
      Dockerfile: [
        'FROM test/busybox-base:1',
        'RUN --mount=type=secret,id=token --mount=type=secret,id=api,env=API_KEY sh -c \'wc -c < /run/secrets/token > /len; echo ${#API_KEY} >> /len\'',
        'CMD ["sh", "-c", "cat /len; ls /run/secrets 2>&1"]',
        '',
      ].join('\n'),
    });
    const { id } = await build(ctx, { secrets: { token: { src: join(dir, 'token') }, api: { env: 'MAYFLY_TEST_SECRET_ENV' } } });
    expect(await output(id)).toBe('20\n16\nls: /run/secrets: No such file or directory\n');
    const rec = runtime().inspect(id);
    expect(JSON.stringify(rec.config)).not.toContain('hunter2');
    for (const l of rec.layers) {
      const tar = gunzipSync(readFileSync(join(process.env.MAYFLY_HOME!, 'blobs', 'sha256', l.digest.slice(7))));
      expect(tar.includes('hunter2-secret-value')).toBe(false);
      expect(tar.includes('env-secret-value')).toBe(false);
    }
    // another value of the secret is not a reason to run the step again
    writeFileSync(join(dir, 'token'), 'another-secret-value');
    expect(ran((await build(ctx, { secrets: { token: { src: join(dir, 'token') }, api: { env: 'MAYFLY_TEST_SECRET_ENV' } } })).steps)).toEqual([]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('bind mounts of the context and of a stage, tmpfs, and --network=none', async () => {
    const ctx = context({
      Dockerfile: [
        'FROM test/busybox-base:1 AS tools',
        'RUN mkdir /tools && echo from-a-stage > /tools/t.txt',
        'FROM test/busybox-base:1',
        'RUN --mount=type=bind,source=src,target=/src --mount=type=bind,from=tools,source=/tools,target=/tools --mount=type=tmpfs,target=/scratch cat /src/in.txt /tools/t.txt > /out.txt && touch /scratch/x',
        'RUN --network=none sh -c "ls /sys/class/net > /net.txt"',
        '',
      ].join('\n'),
      'src/in.txt': 'from-the-context\n',
    });
    const { id } = await build(ctx);
    expect(await output(id, ['sh', '-c', 'cat /out.txt /net.txt; ls /src /tools /scratch 2>&1 | wc -l'])).toBe('from-the-context\nfrom-a-stage\nlo\n3\n');
  });
});
