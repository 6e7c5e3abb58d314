import { describe, expect, it } from 'vitest';
import { parseDockerfile, splitWords, substitute } from './dockerfile.js';

describe('parseDockerfile', () => {
  it('parses forms, continuations and comments', () => {
    const steps = parseDockerfile(`# comment
ARG V=1
FROM busybox:\${V}
RUN apt-get update && \\
    # a comment inside a continuation
    apt-get install -y x
CMD ["nginx", "-g", "daemon off;"]
ENTRYPOINT /bin/sh -c
ENV A=1 B="two words"
ENV LEGACY value with spaces
COPY --chown=1:2 a b /dst/
EXPOSE 80 53/udp
HEALTHCHECK --interval=30s --retries=3 CMD curl -f http://localhost/
`);
    expect(steps.map((s) => s.op)).toEqual(['ARG', 'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'ENV', 'ENV', 'COPY', 'EXPOSE', 'HEALTHCHECK']);
    expect(steps[2]).toMatchObject({ op: 'RUN', command: ['/bin/sh', '-c', 'apt-get update &&  apt-get install -y x'], line: 4 });
    expect(steps[3]).toMatchObject({ command: ['nginx', '-g', 'daemon off;'], shell: false });
    expect(steps[5]).toMatchObject({ pairs: [['A', '1'], ['B', 'two words']] });
    expect(steps[6]).toMatchObject({ pairs: [['LEGACY', 'value with spaces']] });
    expect(steps[7]).toMatchObject({ sources: ['a', 'b'], dest: '/dst/', chown: '1:2' });
    expect(steps[8]).toMatchObject({ ports: ['80/tcp', '53/udp'] });
    expect(steps[9]).toMatchObject({ test: ['CMD-SHELL', 'curl -f http://localhost/'], options: { interval: '30s', retries: '3' } });
  });

  it.each([
    ['RUN x', /line 1: the first instruction must be FROM/],
    ['FROM a\nFROM b', /only one FROM/],
    ['FROM a\nMAINTAINER me', /MAINTAINER is not supported/],
    ['FROM a\nADD https://x/y /z', /URL is not supported/],
    ['FROM a\nCOPY --from=b x y', /--from=b is not supported/],
    ['FROM a\nCOPY onlyone', /source and a destination/],
    ['# nothing', /no FROM/],
  ])('rejects %j', (text, message) => {
    expect(() => parseDockerfile(text)).toThrow(message);
  });
});

describe('words and variables', () => {
  it('splits like the Dockerfile parser', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g`)).toEqual(['a', 'b c', 'd e', 'f g']);
  });
  it('substitutes $VAR, ${VAR}, defaults and alternatives', () => {
    const vars = { A: 'x', EMPTY: '' };
    expect(substitute('$A/${A}/${B:-dflt}/${A:+alt}/${EMPTY:-e}/\\$A', vars)).toBe('x/x/dflt/alt/e/$A');
  });
});
