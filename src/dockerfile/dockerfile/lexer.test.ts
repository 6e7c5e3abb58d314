import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../core/errors.js';
import { lexDockerfile } from './lexer.js';

const lex = (text: string) => lexDockerfile(text);

describe('parser directives', () => {
  it.each([
    ['# syntax=docker/dockerfile:1\nFROM a\n', { syntax: 'docker/dockerfile:1', escape: '\\' }],
    ['#escape=`\nFROM a\n', { escape: '`' }],
    ['# ESCAPE = `\n# syntax = x\nFROM a\n', { escape: '`', syntax: 'x' }],
    // a comment ends the directives: the escape after it is only a comment
    ['# hello\n# escape=`\nFROM a\n', { escape: '\\' }],
    // so does a blank line
    ['\n# escape=`\nFROM a\n', { escape: '\\' }],
    // and an unknown directive
    ['# foo=bar\n# escape=`\nFROM a\n', { escape: '\\' }],
  ])('%j', (text, expected) => {
    expect(lex(text).directives).toMatchObject(expected);
  });

  it('refuses a directive given twice and a bad escape', () => {
    expect(() => lex('# escape=\\\n# escape=`\nFROM a')).toThrow(/line 2: the parser directive "escape" is given twice/);
    expect(() => lex('# escape=x\nFROM a')).toThrow(/line 1: escape=x/);
  });
});

describe('logical lines', () => {
  it('joins continuations, drops comments inside them, keeps line numbers', () => {
    const { instructions, warnings } = lex(['FROM a', '', 'RUN echo a \\', '  # a comment', '    b \\', '', '    c', '  copy x y'].join('\n'));
    expect(instructions.map((i) => [i.keyword, i.rest, i.line, i.endLine])).toEqual([
      ['FROM', 'a', 1, 1],
      ['RUN', 'echo a     b     c', 3, 7],
      ['COPY', 'x y', 8, 8],
    ]);
    expect(warnings[0]).toMatch(/line 3: an empty line inside a continued instruction/);
  });

  it('takes the escape character of the directive for continuations', () => {
    const { instructions } = lex('# escape=`\nFROM a\nRUN dir c:\\ `\n  /w\n');
    expect(instructions[1]).toMatchObject({ keyword: 'RUN', rest: 'dir c:\\   /w', line: 3 });
  });

  it('a continuation with trailing blanks still continues', () => {
    expect(lex('FROM a\nRUN a \\  \n b\n').instructions[1]!.rest).toBe('a  b');
  });

  it('splits leading flags off', () => {
    const i = lex('FROM a\nCOPY --from=build --chown="app:app" --link /a /b\n').instructions[1]!;
    expect(i.flags).toEqual(['--from=build', '--chown="app:app"', '--link']);
    expect(i.rest).toBe('/a /b');
  });
});

describe('heredocs', () => {
  it('reads bodies after the line, in order, with their line range', () => {
    const text = ['FROM a', 'RUN <<EOF', 'echo one', '  # not a comment here', 'EOF', 'COPY <<A <<-"B" /dst/', 'a $X', 'A', '\t\tb $X', '\tB', 'CMD x'].join('\n');
    const { instructions } = lex(text);
    expect(instructions.map((i) => [i.keyword, i.line, i.endLine])).toEqual([
      ['FROM', 1, 1],
      ['RUN', 2, 5],
      ['COPY', 6, 10],
      ['CMD', 11, 11],
    ]);
    expect(instructions[1]!.heredocs).toEqual([{ name: 'EOF', content: 'echo one\n  # not a comment here\n', expand: true, chomp: false }]);
    expect(instructions[2]!.heredocs).toEqual([
      { name: 'A', content: 'a $X\n', expand: true, chomp: false },
      { name: 'B', content: 'b $X\n', expand: false, chomp: true },
    ]);
  });

  it('finds a heredoc inside a shell line', () => {
    const i = lex("FROM a\nRUN python3 - <<'PY' > /out\nprint(1)\nPY\n").instructions[1]!;
    expect(i.heredocs).toEqual([{ name: 'PY', content: 'print(1)\n', expand: false, chomp: false }]);
  });

  it('ignores << in the exec form and in here-strings', () => {
    expect(lex('FROM a\nRUN ["cat", "<<EOF"]\n').instructions[1]!.heredocs).toEqual([]);
    expect(lex('FROM a\nRUN cat <<<"x"\n').instructions[1]!.heredocs).toEqual([]);
  });

  it('an unterminated heredoc names its line', () => {
    let err: unknown;
    try {
      lex('FROM a\nRUN <<EOF\necho\n');
    } catch (e) {
      err = e;
    }
    expect(isMayflyError(err, 'DOCKERFILE_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/line 2: the heredoc <<EOF has no line "EOF"/);
  });
});
