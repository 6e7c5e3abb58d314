import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSYBOX } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const mayfly = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('mayfly run', () => {
  it('streams output and exits with the command code', () => {
    const r = mayfly('run', '--rm', '--rootfs', BUSYBOX, '-e', 'WHO=world', '--', 'sh', '-c', 'echo hello $WHO; echo oops >&2; exit 3');
    expect(r.stdout).toBe('hello world\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.status).toBe(3);
  });

  it('127 for a missing command, 126 for one that cannot run, 125 when mayfly fails', () => {
    expect(mayfly('run', '--rm', '--rootfs', BUSYBOX, '--', 'no-such-cmd').status).toBe(127);
    expect(mayfly('run', '--rm', '--rootfs', BUSYBOX, '--', '/etc/passwd').status).toBe(126);
    const bad = mayfly('run', '--rm', '--rootfs', BUSYBOX, '--tmpfs', 'relative', '--', 'true');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain('tmpfs.0.path');
    expect(mayfly('run', '--rm', '--bogus-flag', '--', 'true').stderr).toContain('unknown flag: --bogus-flag');
  });

  it('applies the flags: user, workdir, hostname, tmpfs, volume, network', () => {
    const r = mayfly(
      'run', '--rm', '--rootfs', BUSYBOX, '-u', 'app', '-w', '/home/app', '-h', 'cli-box', '--tmpfs', '/data:size=4m', '--network', 'none', '--init',
      '--', 'sh', '-c', 'id -u; pwd; hostname; grep -c " /data tmpfs" /proc/mounts; ls /sys/class/net',
    );
    expect(r.stdout.split('\n')).toEqual(['999', '/home/app', 'cli-box', '1', 'lo', '']);
    expect(r.status).toBe(0);
  });

  it('doctor reports what the machine offers', () => {
    const r = spawnSync(process.execPath, [BIN, 'doctor', '--json'], { encoding: 'utf8', timeout: 30_000 });
    const findings = JSON.parse(r.stdout) as { name: string; level: string; detail: string }[];
    expect(findings.find((f) => f.name === 'sandbox')?.level).toBe('ok');
    expect(findings.find((f) => f.name === 'root filesystem')?.level).toBe('ok');
    expect(findings.map((f) => f.name)).toEqual(expect.arrayContaining(['user namespaces', 'id mapping', 'fuse-overlayfs', 'cgroups (limits, freezer)', 'outbound access', '/proc', 'container start']));
    expect(findings.find((f) => f.name === 'container start')?.level).toBe('ok');
    // which start path containers take: native here (the library is built), the Node shim when forced
    const forced = process.env.MAYFLY_START_PATH === 'node';
    expect(findings.find((f) => f.name === 'start path')).toMatchObject({ level: 'ok', detail: expect.stringMatching(forced ? /^Node shim \(MAYFLY_START_PATH=node\)/ : /^native/) });
    expect(r.status).toBe(0);
  });
});

describe('mayfly run and signals', () => {
  it('SIGTERM to the CLI stops a container whose PID 1 ignores it: SIGKILL after the stop timeout', async () => {
    const { spawn } = await import('node:child_process');
    const p = spawn(process.execPath, [BIN, 'run', '--rm', '--rootfs', BUSYBOX, '--stop-timeout', '0.5', '--', 'sh', '-c', 'echo up; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
    const t0 = Date.now();
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => p.once('exit', (c) => resolve(c)));
    expect(code).toBe(137);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
