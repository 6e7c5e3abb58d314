/**
 * Foreground and detached containers live in the keeper, as Docker's live in its daemon: a run
 * without --rm stays (exited) for ps -a, logs and start; create, prune; a killed `mayfly run`
 * leaves nothing; stopped containers outlive their keeper and come back through a new one; a
 * keeper whose MAYFLY_HOME is deleted removes everything and exits.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSYBOX, until } from '../support/runtime.js';
import { usePrivateHome } from '../support/private-home.js';
import { alive, mayfly, ok, started } from './cli.js';

// `container prune` removes every stopped container of the home: other files' ones must not be there
usePrivateHome('cli-containers');

const tag = `${process.pid}`;

/** `rm -rf`, which goes on past what it cannot delete (as an unprivileged user: files of subordinate ids) */
function removeAll(dir: string): void {
  spawnSync('rm', ['-rf', dir], { stdio: 'ignore' });
}

describe('run without -d: through the keeper', () => {
  it('without --rm the container stays, exited, for ps -a, logs and start; --rm removes it; --rm=false keeps it', async () => {
    const name = `kept-${tag}`;
    const r = await mayfly(['run', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo one; echo two >&2; exit 4']);
    expect([r.status, r.stdout, r.stderr]).toEqual([4, 'one\n', 'two\n']);
    expect(await ok(['ps', '--format', '{{.Names}}'])).not.toContain(name);
    expect(await ok(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Names}} {{.Status}}'])).toMatch(new RegExp(`^${name} Exited \\(4\\) .* ago\\n$`));
    expect(await ok(['container', 'ls', '-aq', '--filter', `name=${name}`])).toMatch(/^[0-9a-f]{12}\n$/);
    expect((await mayfly(['logs', name])).stdout).toBe('one\n');
    // start runs it again (detached, as Docker's start does), with its output appended to the log
    expect(await ok(['start', name])).toBe(`${name}\n`);
    await until(async () => (await ok(['logs', name])) === 'one\none\n', 10_000, 'the second run');
    expect(await ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).toBe('exited 4\n');

    const gone = `gone-${tag}`;
    expect((await mayfly(['run', '--rm', '--name', gone, '--rootfs', BUSYBOX, '--', 'true'])).status).toBe(0);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).not.toContain(gone);
    const kept = `rmfalse-${tag}`;
    expect((await mayfly(['run', '--rm=false', '--name', kept, '--rootfs', BUSYBOX, '--', 'true'])).status).toBe(0);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).toContain(kept);
    expect(await ok(['rm', name, kept])).toBe(`${name}\n${kept}\n`);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).not.toContain(name);
    // its name is free again
    expect((await mayfly(['run', '--rm', '--name', name, '--rootfs', BUSYBOX, '--', 'true'])).status).toBe(0);
  }, 90_000);

  it('joins the network of a -d container and reaches it by name', async () => {
    const net = `fg-net-${tag}`;
    const pong = `pong-${tag}`;
    await ok(['network', 'create', net]);
    try {
      await ok(['run', '-d', '--name', pong, '--network', net, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 80 -h /www']);
      let got = '';
      await until(async () => (got = (await mayfly(['run', '--rm', '--network', net, '--rootfs', BUSYBOX, '--', 'wget', '-qO-', `http://${pong}/`])).stdout) === 'pong\n', 15_000, `${pong} to answer`);
      expect(got).toBe('pong\n');
      // by IP too, read from inspect as Docker users script it
      const ip = (await ok(['inspect', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, pong])).trim();
      expect(ip).toMatch(/^10\.89\.\d+\.\d+$/);
      expect((await mayfly(['run', '--rm', '--network', net, '--rootfs', BUSYBOX, '--', 'wget', '-qO-', `http://${ip}/`])).stdout).toBe('pong\n');
    } finally {
      await mayfly(['rm', '-f', pong]);
      await mayfly(['network', 'rm', net]);
    }
  }, 90_000);

  it('a mayfly run killed with SIGKILL: its container is stopped and removed', async () => {
    const name = `killed-${tag}`;
    const run = started(['run', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo up; exec sleep 300']);
    await until(() => run.out().includes('up'), 15_000, 'the container to start');
    const [state] = JSON.parse(await ok(['inspect', name])) as { State: { Pid: number } }[];
    expect(alive(state!.State.Pid)).toBe(true);
    run.proc.kill('SIGKILL');
    await until(async () => !(await ok(['ps', '-a', '--format', '{{.Names}}'])).includes(name), 10_000, 'the container to be removed');
    await until(() => !alive(state!.State.Pid), 5000, 'its process to end');
  }, 90_000);

  it('Ctrl-C stops the container (its PID 1 ignores SIGINT: SIGKILL after the stop timeout) and returns its code', async () => {
    const run = started(['run', '--rm', '--stop-timeout', '1', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo up; exec sleep 300']);
    await until(() => run.out().includes('up'), 15_000, 'the container to start');
    run.proc.kill('SIGINT');
    expect(await run.exited).toBe(137);
  }, 90_000);

  it('bad input: exit 125, the flag named, and nothing made (no container, no name)', async () => {
    const name = `bad-${tag}`;
    const r = await mayfly(['run', '--name', name, '--rootfs', BUSYBOX, '--tmpfs', 'relative', '--', 'true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('tmpfs.0.path');
    const noNet = await mayfly(['run', '--name', name, '--network', 'no-such-net', '--rootfs', BUSYBOX, '--', 'true']);
    expect([noNet.status, noNet.stderr]).toEqual([125, expect.stringContaining('network no-such-net not found')]);
    expect(await ok(['ps', '-a', '--format', '{{.Names}}'])).not.toContain(name);
    expect((await mayfly(['run', '--rm', '--name', name, '--rootfs', BUSYBOX, '--', 'true'])).status).toBe(0);
  }, 90_000);
});

describe('create, start, prune, ps -s, inspect, logs --since/--until', () => {
  it('create makes a container that start runs; container prune removes the stopped ones only', async () => {
    const [a, b, live] = [`created-${tag}`, `exited-${tag}`, `live-${tag}`];
    const id = (await ok(['create', '--name', a, '-e', 'WHO=created', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo ran as $WHO'])).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await ok(['ps', '-a', '--filter', `name=${a}`, '--format', '{{.ID}} {{.Status}} {{.State}}'])).toBe(`${id.slice(0, 12)} Created created\n`);
    await ok(['container', 'start', a]);
    await until(async () => (await ok(['logs', a])) === 'ran as created\n', 10_000, 'it to run');
    await mayfly(['run', '--name', b, '--rootfs', BUSYBOX, '--', 'true']);
    await ok(['run', '-d', '--name', live, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    const pruned = await ok(['container', 'prune', '-f']);
    expect(pruned).toContain(id);
    const left = await ok(['ps', '-a', '--format', '{{.Names}}']);
    expect(left).not.toContain(a);
    expect(left).not.toContain(b);
    expect(left).toContain(live);
    await ok(['rm', '-f', live]);
  }, 90_000);

  it('ps -s: the writable layer and the virtual size', async () => {
    const name = `size-${tag}`;
    await ok(['run', '-d', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'head -c 300000 /dev/zero > /big; exec sleep 300']);
    try {
      let line = '';
      await until(async () => /^300kB \(virtual 300kB\)$/.test((line = (await ok(['ps', '-s', '--filter', `name=${name}`, '--format', '{{.Size}}'])).trim())), 10_000, 'the file to be written');
      expect(await ok(['ps', '-s', '--filter', `name=${name}`])).toMatch(/\bSIZE\n.*300kB \(virtual 300kB\)\n$/s);
    } finally {
      await ok(['rm', '-f', name]);
    }
  }, 90_000);

  it("inspect: Docker's document for a container, scripted with --format", async () => {
    const net = `insp-net-${tag}`;
    const name = `insp-${tag}`;
    await ok(['network', 'create', net]);
    try {
      await ok(['run', '-d', '--name', name, '--network', net, '--network-alias', 'web', '-p', '127.0.0.1:0:80', '-e', 'A=1', '-l', 'team=qa', '--tmpfs', '/cache', '-m', '64m', '--rootfs', BUSYBOX, '--', 'sleep', '300']);
      const [doc] = JSON.parse(await ok(['inspect', name])) as Record<string, any>[];
      expect(doc!.Id).toMatch(/^[0-9a-f]{64}$/);
      expect(doc!.Name).toBe(`/${name}`);
      expect(doc!.State).toMatchObject({ Status: 'running', Running: true, Paused: false, ExitCode: 0 });
      expect(doc!.State.Pid).toBeGreaterThan(0);
      expect(Date.parse(doc!.State.StartedAt)).toBeGreaterThan(0);
      expect(doc!.Config).toMatchObject({ Cmd: ['sleep', '300'], Env: ['A=1'], Labels: { team: 'qa' } });
      expect(doc!.HostConfig).toMatchObject({ NetworkMode: net, Memory: 64 * 2 ** 20, Tmpfs: { '/cache': '' }, PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } });
      const hostPort = doc!.NetworkSettings.Ports['80/tcp'][0].HostPort as string;
      expect(await ok(['port', name, '80'])).toBe(`127.0.0.1:${hostPort}\n`);
      expect(doc!.NetworkSettings.Networks[net]).toMatchObject({ Aliases: ['web', expect.any(String)], Gateway: expect.stringMatching(/\.1$/), IPPrefixLen: 24 });
      expect(await ok(['inspect', '-f', '{{range $n, $s := .NetworkSettings.Networks}}{{$n}}={{$s.IPAddress}}{{end}}', name])).toBe(`${net}=${doc!.NetworkSettings.Networks[net].IPAddress}\n`);
      expect(await ok(['container', 'inspect', name, '--format', '{{json .Mounts}}'])).toBe('[{"Type":"tmpfs","Source":"","Destination":"/cache","Mode":"","RW":true,"Propagation":""}]\n');
      const netDoc = JSON.parse(await ok(['network', 'inspect', net])) as Record<string, any>[];
      expect(netDoc[0]!.Containers[doc!.Id]).toMatchObject({ Name: name, IPv4Address: `${doc!.NetworkSettings.Networks[net].IPAddress}/24` });
      const missing = await mayfly(['inspect', name, 'no-such-thing']);
      expect([missing.status, JSON.parse(missing.stdout).length, missing.stderr]).toEqual([1, 1, expect.stringContaining('no such object: no-such-thing')]);
    } finally {
      await mayfly(['rm', '-f', name]);
      await mayfly(['network', 'rm', net]);
    }
  }, 90_000);

  it('logs --since and --until, by timestamp and by duration', async () => {
    const name = `times-${tag}`;
    await ok(['run', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo early; sleep 1.2; echo late']);
    try {
      const lines = (await ok(['logs', '-t', name])).trim().split('\n');
      expect(lines.map((l) => l.split(' ')[1])).toEqual(['early', 'late']);
      const [tEarly, tLate] = lines.map((l) => l.split(' ')[0]!);
      expect(await ok(['logs', '--since', tLate!, name])).toBe('late\n');
      expect(await ok(['logs', '--until', tEarly!, name])).toBe('early\n');
      expect(await ok(['logs', '--since', String(Date.parse(tLate!) / 1000), name])).toBe('late\n');
      expect(await ok(['logs', '--since', '10m', '-n', '1', name])).toBe('late\n');
      expect(await ok(['logs', '--until', '10m', name])).toBe('');
      const bad = await mayfly(['logs', '--since', 'yesterday-ish', name]);
      expect([bad.status, bad.stderr]).toEqual([125, expect.stringContaining('invalid value "yesterday-ish" for --since')]);
    } finally {
      await ok(['rm', name]);
    }
  }, 90_000);
});

describe('what the keeper holds, and for how long', () => {
  it('stopped containers outlive their keeper and come back through a new one; a deleted MAYFLY_HOME takes everything with it', async () => {
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'keeper-home-'));
    const env = { MAYFLY_HOME: home, MAYFLY_KEEPER_IDLE_SECONDS: '1' };
    const keeperPid = () => {
      try {
        return (JSON.parse(readFileSync(join(home, 'keeper.json'), 'utf8')) as { pid: number }).pid;
      } catch {
        return undefined;
      }
    };
    try {
      await ok(['run', '-d', '--name', 'svc', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo kept > /state; exec sleep 300'], { env });
      const first = keeperPid()!;
      expect(alive(first)).toBe(true);
      await ok(['stop', '-t=0', 'svc'], { env });
      // nothing runs: the keeper leaves after its idle time; the container stays on disk
      await until(() => !alive(first), 15_000, 'the idle keeper to leave');
      expect(await ok(['ps', '-a', '--format', '{{.Names}} {{.State}}'], { env })).toBe('svc exited\n');
      await ok(['start', 'svc'], { env });
      const second = keeperPid()!;
      expect(second).not.toBe(first);
      expect(await ok(['exec', 'svc', 'cat', '/state'], { env })).toBe('kept\n');
      const [doc] = JSON.parse(await ok(['inspect', 'svc'], { env })) as { State: { Pid: number } }[];
      // CI's `MAYFLY_HOME=$(mktemp -d)` … `rm -rf`: the keeper removes what it holds and exits (an
      // unprivileged rm cannot delete the container's files, owned by subordinate ids; the keeper can)
      removeAll(home);
      await until(() => !alive(second) && !alive(doc!.State.Pid), 15_000, 'the keeper and its container to end');
      removeAll(home);
      expect(existsSync(home)).toBe(false);
    } finally {
      removeAll(home);
    }
  }, 90_000);
});
