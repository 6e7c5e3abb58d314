import { describe, expect, it } from 'vitest';
import { ROOT } from '../commands.js';
import type { CommandDef } from './definition.js';
import { renderHelp } from './help.js';
import { parseCommandLine } from './parse.js';

const find = (...path: string[]): CommandDef => path.reduce<CommandDef>((d, n) => d.subcommands!.find((s) => s.name === n || s.aliases?.includes(n))!, ROOT);
const parse = (path: string[], argv: string[]) => parseCommandLine(find(...path), path, argv);

describe("Docker's flag rules", () => {
  it('groups short flags: -aq, -dP, and a value-taking flag last in a group takes the next argument', () => {
    expect(parse(['ps'], ['-aq']).flags).toEqual({ all: true, quiet: true });
    expect(parse(['run'], ['-dP', 'nginx']).flags).toMatchObject({ detach: true, 'publish-all': true });
    expect(parse(['run'], ['-dp', '8080:80', 'nginx'])).toMatchObject({ flags: { detach: true, publish: ['8080:80'] }, args: ['nginx'] });
  });

  it('-t=0, -t0, -t 0, --time=0 and --time 0 are one value', () => {
    for (const argv of [['-t=0'], ['-t0'], ['-t', '0'], ['--time=0'], ['--time', '0'], ['--timeout', '0']]) {
      expect(parse(['stop'], [...argv, 'web']), argv.join(' ')).toEqual({ flags: { time: '0' }, args: ['web'], help: false });
    }
  });

  it('booleans take =false and =true (and -d=false), as pflag does', () => {
    expect(parse(['run'], ['--rm=false', 'img']).flags).toEqual({ rm: false });
    expect(parse(['run'], ['--rm=true', 'img']).flags).toEqual({ rm: true });
    expect(parse(['run'], ['-d=false', 'img']).flags).toEqual({ detach: false });
    expect(parse(['run'], ['-Pd=0', 'img']).flags).toEqual({ 'publish-all': true, detach: false });
    expect(() => parse(['run'], ['--rm=maybe', 'img'])).toThrow('invalid value "maybe" for --rm: expected true or false');
  });

  it('repeats flags and keeps every value; --flag=value with = in the value', () => {
    expect(parse(['run'], ['-e', 'A=1', '--env=B=2', '-eC=3', '-e=D=4', 'img']).flags.env).toEqual(['A=1', 'B=2', 'C=3', 'D=4']);
  });

  it('run: options end at the image; everything after it is the command, -- and flags included', () => {
    expect(parse(['run'], ['--rm', 'debian', 'ls', '-la', '--rm', '--', 'x']).args).toEqual(['debian', 'ls', '-la', '--rm', '--', 'x']);
    expect(parse(['run'], ['--rm', '--', 'debian', 'echo', '--help'])).toEqual({ flags: { rm: true }, args: ['debian', 'echo', '--help'], help: false });
    expect(parse(['exec'], ['-u', 'app', 'web', 'sh', '-c', 'id'])).toMatchObject({ flags: { user: 'app' }, args: ['web', 'sh', '-c', 'id'] });
  });

  it('other commands take flags after their arguments (docker inspect web --format …), until --', () => {
    expect(parse(['inspect'], ['web', '--format', '{{.Id}}'])).toMatchObject({ flags: { format: '{{.Id}}' }, args: ['web'] });
    expect(parse(['rm'], ['a', '-f', 'b'])).toMatchObject({ flags: { force: true }, args: ['a', 'b'] });
    expect(parse(['rm'], ['a', '--', '-f'])).toMatchObject({ flags: {}, args: ['a', '-f'] });
  });

  it('names an unknown flag with the closest known one', () => {
    expect(() => parse(['ps'], ['--fromat', 'x'])).toThrow("mayfly ps: unknown flag: --fromat (did you mean --format?)");
    expect(() => parse(['run'], ['--publsh', '80', 'img'])).toThrow('(did you mean --publish?)');
    expect(() => parse(['ps'], ['-xq'])).toThrow("unknown shorthand flag: 'x' in -xq (its short flags: -a -q -f -n -l -s)");
    expect(() => parse(['stop'], ['-time=1', 'x'])).toThrow('did you mean --time?');
  });

  it('checks values: names the flag, the value and what is accepted', () => {
    expect(() => parse(['stop'], ['-t', 'soon', 'web'])).toThrow('invalid value "soon" for -t, --time: expected a whole number ≥ 0');
    expect(() => parse(['run'], ['--pull', 'sometimes', 'img'])).toThrow('invalid value "sometimes" for --pull: expected one of missing, always, never');
    expect(() => parse(['run'], ['-m', 'lots', 'img'])).toThrow('invalid value "lots" for -m, --memory: expected a size like 64m');
    expect(() => parse(['run'], ['--name'])).toThrow('flag needs an argument: --name');
    expect(() => parse(['rm'], [])).toThrow('requires at least 1 argument');
    expect(() => parse(['port'], ['a', 'b', 'c'])).toThrow('accepts at most 2 arguments, got 3');
  });

  it('--help anywhere before the cut', () => {
    expect(parse(['rm'], ['--help']).help).toBe(true);
    expect(parse(['run'], ['-d', '--help']).help).toBe(true);
    expect(parse(['run'], ['img', '--help']).help).toBe(false);
  });
});

describe('help', () => {
  it('is written from the declarations: every flag the parser knows is listed', () => {
    const run = renderHelp(find('run'), ['run']);
    expect(run).toMatch(/^Usage: {2}mayfly run \[OPTIONS\] IMAGE \[COMMAND\] \[ARG\.\.\.\]$/m);
    for (const f of find('run').flags!) expect(run).toContain(f.short ? `-${f.short}, --${f.long}` : `--${f.long}`);
    expect(renderHelp(find('network'), ['network'])).toMatch(/Commands:\n {2}create +Create a network/);
    expect(renderHelp(find('container', 'ls'), ['container', 'ls'])).toContain('Aliases:\n  container ls, container ps, container list');
  });

  it('every command has help and every leaf command something to run', () => {
    const walk = (d: CommandDef, path: string[]): void => {
      expect(d.summary, path.join(' ')).toBeTruthy();
      expect(renderHelp(d, path)).toContain('Usage:');
      if (d.subcommands) for (const s of d.subcommands) walk(s, [...path, s.name]);
      else expect(d.load, path.join(' ')).toBeTypeOf('function');
    };
    walk(ROOT, []);
  });
});
