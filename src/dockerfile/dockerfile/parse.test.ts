import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { parseDuration } from './instructions.js';
import { parseMount } from './mounts.js';
import { parseDockerfile } from './parse.js';

const stage0 = (body: string) => parseDockerfile(`FROM base\n${body}\n`).stages[0]!.instructions[0]!;

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (!isMayflyError(e, 'DOCKERFILE_INVALID')) throw e;
    return e;
  }
  throw new Error('expected a DOCKERFILE_INVALID error');
}

describe('stages', () => {
  it('splits stages, keeps global ARGs, lower-cases names and keywords in any case', () => {
    const df = parseDockerfile(['ARG BASE=node:20', 'ARG X', 'from --platform=$BUILDPLATFORM ${BASE} As Build', 'run npm ci', 'FROM build as dev-envs', 'FROM nginx', 'copy --from=build /a /b'].join('\n'));
    expect(df.globalArgs.flatMap((a) => a.args)).toEqual([{ name: 'BASE', default: 'node:20' }, { name: 'X' }]);
    expect(df.stages.map((s) => [s.index, s.name, s.from.image, s.from.platform, s.instructions.map((i) => i.kind)])).toEqual([
      [0, 'build', '${BASE}', '$BUILDPLATFORM', ['RUN']],
      [1, 'dev-envs', 'build', undefined, []],
      [2, undefined, 'nginx', undefined, ['COPY']],
    ]);
  });

  it.each([
    ['RUN x\n', /line 1: RUN comes before the first FROM/],
    ['# only a comment\n', /has no FROM/],
    ['FROM a AS x\nFROM b AS X\n', /line 2: the stage name "x" is already used at line 1/],
    ['FROM a AS 1x\n', /line 1: "1x" is not a valid stage name/],
    ['FROM a b\n', /line 1: FROM takes an image/],
    ['FROM a\nFETCH x\n', /line 2: unknown instruction FETCH/],
    ['FROM a\nCOPY --form=x a b\n', /line 2: COPY has no flag --form/],
    ['FROM a\nCOPY --parents a b\n', /line 2: COPY --parents .* not supported/],
    ['FROM a\nCOPY a\n', /line 2: COPY needs at least one source and a destination/],
    ['FROM a\nRUN --network=bridge x\n', /line 2: RUN --network=bridge: use default, none or host/],
    ['FROM a\nRUN --mount=type=ssh x\n', /line 2: RUN --mount=type=ssh is not supported/],
    ['FROM a\nRUN --mount=type=cache x\n', /line 2: RUN --mount=type=cache needs target/],
    ['FROM a\nRUN --mount=type=cache,target=/x,colour=red x\n', /line 2: RUN --mount=type=cache has no option "colour"/],
    ['FROM a\nSHELL /bin/bash -c\n', /line 2: SHELL takes the JSON form/],
    ['FROM a\nONBUILD FROM x\n', /line 2: ONBUILD FROM is not allowed/],
    ['FROM a\nHEALTHCHECK --interval=often CMD x\n', /line 2: HEALTHCHECK --interval=often is not a duration/],
    ['FROM a\nHEALTHCHECK echo\n', /line 2: HEALTHCHECK needs CMD/],
    ['FROM a\nENV A\n', /line 2: ENV A needs a value/],
    ['FROM a\nARG 1X\n', /line 2: "1X" is not a valid ARG name/],
    ['FROM a\nCOPY --link=maybe a b\n', /line 2: --link is true or false/],
  ])('%j fails', (text, message) => {
    expect(failure(() => parseDockerfile(text)).message).toMatch(message);
  });
});

describe('instructions', () => {
  it.each([
    ['RUN echo hi', { kind: 'RUN', command: { shell: 'echo hi' }, mounts: [] }],
    ['RUN ["echo", "hi"]', { kind: 'RUN', command: { exec: ['echo', 'hi'] } }],
    ['RUN [not json', { kind: 'RUN', command: { shell: '[not json' } }],
    ['RUN --mount=type=cache,target=/root/.npm --network=none npm ci', { kind: 'RUN', mounts: ['type=cache,target=/root/.npm'], network: 'none', command: { shell: 'npm ci' } }],
    ['CMD ["nginx", "-g", "daemon off;"]', { kind: 'CMD', command: { exec: ['nginx', '-g', 'daemon off;'] } }],
    ['ENTRYPOINT npm start', { kind: 'ENTRYPOINT', command: { shell: 'npm start' } }],
    ['ENV A=1 B="two words" C=\'$x\'', { kind: 'ENV', pairs: [['A', '1'], ['B', '"two words"'], ['C', "'$x'"]] }],
    ['ENV LEGACY value with spaces', { kind: 'ENV', pairs: [['LEGACY', 'value with spaces']] }],
    ['LABEL "org.example.vendor"="ACME inc" version=1', { kind: 'LABEL', pairs: [['"org.example.vendor"', '"ACME inc"'], ['version', '1']] }],
    ['ARG A B=2 C=', { kind: 'ARG', args: [{ name: 'A' }, { name: 'B', default: '2' }, { name: 'C', default: '' }] }],
    ['COPY --from=build --chown=app:app --chmod=0755 --link a b /dst/', { kind: 'COPY', sources: ['a', 'b'], dest: '/dst/', from: 'build', chown: 'app:app', chmod: '0755', link: true }],
    ['COPY ["a b", "/dst"]', { kind: 'COPY', sources: ['a b'], dest: '/dst' }],
    ['ADD --checksum=sha256:abc https://example.org/x.tgz /x.tgz', { kind: 'ADD', sources: ['https://example.org/x.tgz'], checksum: 'sha256:abc' }],
    ['EXPOSE 80 53/udp $P', { kind: 'EXPOSE', ports: '80 53/udp $P' }],
    ['VOLUME ["/a", "/b"]', { kind: 'VOLUME', paths: ['/a', '/b'] }],
    ['VOLUME /a /b', { kind: 'VOLUME', paths: ['/a', '/b'] }],
    ['WORKDIR /srv/$APP', { kind: 'WORKDIR', value: '/srv/$APP' }],
    ['USER app:app', { kind: 'USER', value: 'app:app' }],
    ['STOPSIGNAL SIGQUIT', { kind: 'STOPSIGNAL', value: 'SIGQUIT' }],
    ['SHELL ["/bin/bash", "-eo", "pipefail", "-c"]', { kind: 'SHELL', shell: ['/bin/bash', '-eo', 'pipefail', '-c'] }],
    ['ONBUILD COPY . /app', { kind: 'ONBUILD', trigger: 'COPY . /app' }],
    ['HEALTHCHECK NONE', { kind: 'HEALTHCHECK', test: 'NONE' }],
    ['HEALTHCHECK --interval=5s --timeout=1m30s --start-period=500ms --retries=3 CMD curl -f http://localhost/', { kind: 'HEALTHCHECK', test: { shell: 'curl -f http://localhost/' }, options: { interval: 5e9, timeout: 90e9, startPeriod: 5e8, retries: 3 } }],
    ['healthcheck cmd ["pg_isready"]', { kind: 'HEALTHCHECK', test: { exec: ['pg_isready'] } }],
  ])('%s', (line, expected) => {
    expect(stage0(line)).toMatchObject(expected);
  });

  it('names heredoc sources by their terminator', () => {
    const i = parseDockerfile('FROM a\nCOPY <<-"CONF" /etc/app.conf\n\tkey=$V\n\tCONF\n').stages[0]!.instructions[0]!;
    expect(i).toMatchObject({ kind: 'COPY', sources: ['<<CONF'], dest: '/etc/app.conf', heredocs: [{ name: 'CONF', content: 'key=$V\n', expand: false }] });
  });
});

describe('parseMount', () => {
  it.each([
    ['type=cache,target=/root/.npm', { type: 'cache', target: '/root/.npm', id: '/root/.npm', sharing: 'shared', mode: 0o755, uid: 0, gid: 0, readonly: false }],
    ['type=cache,id=apt,dst=/var/cache/apt,sharing=locked,mode=0777,uid=1000', { type: 'cache', id: 'apt', target: '/var/cache/apt', sharing: 'locked', mode: 0o777, uid: 1000 }],
    ['type=secret,id=npmrc', { type: 'secret', id: 'npmrc', target: '/run/secrets/npmrc', required: false, mode: 0o400 }],
    ['type=secret,id=token,env=TOKEN,required', { type: 'secret', id: 'token', env: 'TOKEN', required: true }],
    ['type=secret,target=/root/.npmrc', { type: 'secret', id: '.npmrc', target: '/root/.npmrc' }],
    ['target=/src', { type: 'bind', target: '/src', source: '/', readwrite: false }],
    ['type=bind,from=build,source=/app/dist,target=/dist,rw', { type: 'bind', from: 'build', source: '/app/dist', target: '/dist', readwrite: true }],
    ['type=tmpfs,target=/tmp,size=1000', { type: 'tmpfs', target: '/tmp', size: 1000 }],
  ])('%s', (spec, expected) => {
    expect(parseMount(spec, 3)).toMatchObject(expected);
  });

  it.each([
    ['type=cache,target=/x,sharing=sometimes', /line 3: --mount sharing=sometimes/],
    ['type=cache,target=/x,mode=rwx', /line 3: --mount mode=rwx: expected a octal mode/],
    ['type=secret', /line 3: RUN --mount=type=secret needs id/],
    ['type=volume,target=/x', /line 3: RUN --mount type=volume is unknown/],
  ])('%s fails', (spec, message) => {
    expect(failure(() => parseMount(spec, 3)).message).toMatch(message);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30e9],
    ['1m30s', 90e9],
    ['1h', 3600e9],
    ['250ms', 250e6],
    ['1.5s', 1.5e9],
    ['5', undefined],
    ['s', undefined],
  ])('%s', (text, ns) => {
    expect(parseDuration(text)).toBe(ns);
  });
});
