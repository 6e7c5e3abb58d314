/**
 * Docker's flag forms through the real binary (the parser's own rules are unit-tested in
 * src/cli/command-line/parse.test.ts), --help for every command, Docker's exit codes, --format and
 * -q on the lists, and the lifecycle verbs' flags.
 */
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../src/cli/commands.js';
import type { CommandDef } from '../../src/cli/command-line/definition.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { mayfly, ok } from './cli.js';

const tag = `${process.pid}`;

describe('flag forms as typed', () => {
  it('-dP, -e three ways, ps -aq, ps -n/-l/--filter, stop -t=0 / -t0 / --time=0, --help everywhere', async () => {
    const [a, b, c] = [`ff-a-${tag}`, `ff-b-${tag}`, `ff-c-${tag}`];
    await ok(['run', '-dP', '--expose', '8080', '--name', a, '-e', 'A=1', '--env=B=2', '-eC=3', '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    await ok(['run', '-d', '--name', b, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    await ok(['run', '-d', '--name', c, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      expect(await ok(['exec', a, 'sh', '-c', 'echo $A$B$C'])).toBe('123\n');
      expect(await ok(['port', a])).toMatch(/^8080\/tcp -> 127\.0\.0\.1:\d+\n$/);
      const ids = (await ok(['ps', '-aq'])).split('\n');
      for (const n of [a, b, c]) expect(ids).toContain((await ok(['inspect', '-f', '{{.Id}}', n])).slice(0, 12));
      expect(await ok(['stop', '-t=0', a])).toBe(`${a}\n`);
      expect(await ok(['stop', '-t0', b])).toBe(`${b}\n`);
      expect(await ok(['stop', '--time=0', c])).toBe(`${c}\n`);
      expect(await ok(['ps', '-a', '--filter', `name=ff-`, '--filter', 'status=exited', '--format', '{{.Names}}'])).toBe(`${c}\n${b}\n${a}\n`);
      expect(await ok(['ps', '-n', '1', '--filter', 'name=ff-', '--format', '{{.Names}}'])).toBe(`${c}\n`);
      expect(await ok(['ps', '-l', '-q', '--no-trunc'])).toMatch(/^[0-9a-f]{64}\n$/);
    } finally {
      await mayfly(['rm', '-f', a, b, c]);
    }
  }, 90_000);

  it('every command and group answers --help with its usage, written from the same declarations', async () => {
    const paths: string[][] = [];
    const walk = (d: CommandDef, path: string[]) => {
      paths.push(path);
      for (const s of d.subcommands ?? []) walk(s, [...path, s.name]);
    };
    walk(ROOT, []);
    // a handful through the binary (each is a Node start), every one through help's renderer in the unit test
    for (const path of [[], ['run'], ['container', 'ls'], ['network', 'create'], ['compose', 'up'], ['volume'], ['commit'], ['cp']]) {
      const r = await mayfly([...path, '--help']);
      expect([r.status, r.stdout.split('\n')[0]], path.join(' ')).toEqual([0, expect.stringMatching(new RegExp(`^Usage: {2}mayfly ${path.join(' ')}`.trimEnd()))]);
    }
    expect(paths.length).toBeGreaterThan(60);
    expect((await mayfly(['help', 'network', 'connect'])).stdout).toContain('Usage:  mayfly network connect [OPTIONS] NETWORK CONTAINER');
    expect((await mayfly(['run', '--help'])).stdout).toContain('--mount list');
  }, 90_000);

  it("Docker's exit codes and messages: 125 for mayfly's own errors, naming the flag, the value and what is accepted", async () => {
    const unknown = await mayfly(['ps', '--fromat', 'json']);
    expect([unknown.status, unknown.stderr]).toEqual([125, expect.stringContaining('mayfly ps: unknown flag: --fromat (did you mean --format?)')]);
    const value = await mayfly(['stop', '-t', 'soon', 'x']);
    expect([value.status, value.stderr]).toEqual([125, expect.stringContaining('invalid value "soon" for -t, --time: expected a whole number ≥ 0')]);
    const rm = await mayfly(['run', '--rm=maybe', '--rootfs', BUSYBOX, '--', 'true']);
    expect([rm.status, rm.stderr]).toEqual([125, expect.stringContaining('invalid value "maybe" for --rm: expected true or false')]);
    const cmd = await mayfly(['contianer', 'ls']);
    expect([cmd.status, cmd.stderr]).toEqual([125, expect.stringContaining('unknown command "contianer" (did you mean "container"?)')]);
    const args = await mayfly(['rm']);
    expect([args.status, args.stderr]).toEqual([125, expect.stringContaining('mayfly rm: requires at least 1 argument')]);
    expect((await mayfly(['run', '--rm', '--rootfs', BUSYBOX, '--', 'no-such-cmd'])).status).toBe(127);
    expect((await mayfly(['run', '--rm', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'exit 42'])).status).toBe(42);
    expect(await ok(['version'])).toMatch(/^mayfly version \d+\.\d+\.\d+\n$/);
    expect(await ok(['--version'])).toBe(await ok(['-v']));
  }, 90_000);

  it('--format and -q on ps, images, network ls, volume ls', async () => {
    const name = `fmt-${tag}`;
    const vol = `fmt-vol-${tag}`;
    await ok(['volume', 'create', vol]);
    await ok(['run', '-d', '--name', name, '-l', 'team=qa', '-v', `${vol}:/data`, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      const [row] = (await ok(['ps', '--filter', `name=${name}`, '--format', 'json'])).trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
      expect(row).toMatchObject({ Names: name, State: 'running', Labels: 'team=qa', Mounts: vol, Networks: 'bridge' });
      expect(await ok(['ps', '--filter', 'label=team=qa', '--format', '{{json .Names}}'])).toBe(`"${name}"\n`);
      expect(await ok(['ps', '--filter', `name=${name}`, '--format', 'table {{.Names}}\t{{.State}}'])).toBe(`NAMES${' '.repeat(name.length - 2)}STATE\n${name}   running\n`);
      expect(await ok(['volume', 'ls', '--format', '{{.Driver}}:{{.Name}}'])).toContain(`local:${vol}\n`);
      expect(await ok(['volume', 'ls', '-q'])).toContain(`${vol}\n`);
      expect(JSON.parse(await ok(['volume', 'inspect', vol]))[0]).toMatchObject({ Name: vol, Driver: 'local', Scope: 'local' });
      expect(await ok(['network', 'ls', '-q'])).toMatch(/^[0-9a-f]{12}\n/);
      expect((await ok(['network', 'ls', '--format', 'json'])).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { Name: string }).Name)).toEqual(expect.arrayContaining(['bridge', 'host', 'none']));
      expect(await ok(['images', '--format', '{{.Repository}}'])).toBeTypeOf('string');
      // pause, unpause, kill -s, restart: states as ps shows them
      await ok(['pause', name]);
      expect(await ok(['ps', '--filter', `name=${name}`, '--format', '{{.State}} {{.Status}}'])).toMatch(/^paused Up .+ \(Paused\)\n$/);
      await ok(['unpause', name]);
      await ok(['kill', '-s', 'TERM', name]); // sleep as PID 1 ignores SIGTERM: still running
      expect(await ok(['inspect', '-f', '{{.State.Status}}', name])).toBe('running\n');
      await ok(['kill', '--signal=9', name]);
      await until(async () => (await ok(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])) === 'exited 137\n', 10_000, 'the kill');
      await ok(['restart', '-t', '0', name]);
      expect(await ok(['inspect', '-f', '{{.State.Status}}', name])).toBe('running\n');
      expect(await ok(['exec', '-e', 'X=y', '-u', '1000', '-w', '/tmp', name, 'sh', '-c', 'echo $X $(id -u) $PWD'])).toBe('y 1000 /tmp\n');
      expect(await ok(['stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', name])).toMatch(new RegExp(`^${name} \\d+\\n$`));
      const killStopped = await mayfly(['kill', name, 'no-such']);
      expect([killStopped.status, killStopped.stderr]).toEqual([1, expect.stringContaining('no such container: no-such')]);
    } finally {
      await mayfly(['rm', '-f', name]);
      await mayfly(['volume', 'rm', vol]);
    }
  }, 90_000);
});
