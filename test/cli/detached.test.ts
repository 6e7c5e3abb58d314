import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSYBOX, until } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const mayfly = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });


describe('detached containers: run -d, ps, exec, logs, port, stop, start, rm', () => {
  it("the seeds' --network minha-bridge with --name meu-mongo, as detached containers driven by name", async () => {
    const net = `minha-bridge-${process.pid}`;
    const [db, app] = [`meu-db-${process.pid}`, `meu-app-${process.pid}`];
    expect(mayfly('network', 'create', net).status).toBe(0);
    const started = mayfly('run', '-d', '--name', db, '--network', net, '-p', '0:80', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'echo db up; mkdir /www; echo from-db > /www/index.html; exec httpd -f -p 80 -h /www');
    expect(started.status).toBe(0);
    expect(started.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(mayfly('run', '-d', '--name', app, '--network', net, '--rootfs', BUSYBOX, '--', 'sleep', '300').status).toBe(0);

    const ps = mayfly('ps').stdout;
    expect(ps).toMatch(/CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES/);
    expect(ps).toMatch(new RegExp(`Up [^\\n]+\\s+127\\.0\\.0\\.1:\\d+->80/tcp\\s+${db}`));
    expect(ps).toContain(app);

    // the app finds the db by name on their network
    let got = '';
    await until(() => (got = mayfly('exec', app, 'wget', '-qO-', `http://${db}/`).stdout) === 'from-db\n', 10_000, 'the db to answer');
    const hostPort = mayfly('port', db, '80').stdout.trim();
    expect(hostPort).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await (await fetch(`http://${hostPort}/`)).text()).toBe('from-db\n');
    expect(mayfly('logs', db).stdout).toBe('db up\n');
    expect(mayfly('exec', app, 'sh', '-c', 'exit 7').status).toBe(7);

    expect(mayfly('stop', '-t', '0', app).stdout).toBe(`${app}\n`);
    expect(mayfly('ps').stdout).not.toContain(app);
    expect(mayfly('ps', '-a').stdout).toMatch(new RegExp(`Exited \\(137\\) [^\\n]+ ago\\s+${app}`));
    expect(mayfly('rm', db).stderr).toContain('is running');
    expect(mayfly('start', app).status).toBe(0);
    expect(mayfly('ps').stdout).toContain(app);
    expect(mayfly('rm', '-f', db, app).status).toBe(0);
    expect(mayfly('ps', '-a', '--format', '{{.Names}}').stdout).not.toMatch(new RegExp(`^(${db}|${app})$`, 'm'));
    expect(mayfly('exec', 'no-such', 'true').stderr).toContain('no such container');
    expect(mayfly('network', 'rm', net).status).toBe(0);
  });
});

describe('mayfly volume and stats', () => {
  it('a named volume outlives its container; rm is refused while in use; stats samples a detached container', () => {
    const vol = `vol-${process.pid}`;
    const name = `vol-user-${process.pid}`;
    expect(mayfly('volume', 'create', vol).stdout).toBe(`${vol}\n`);
    expect(mayfly('run', '--rm', '--rootfs', BUSYBOX, '-v', `${vol}:/data`, '--', 'sh', '-c', 'echo kept > /data/f').status).toBe(0);
    expect(mayfly('run', '-d', '--name', name, '--rootfs', BUSYBOX, '-v', `${vol}:/data`, '--', 'sleep', '300').status).toBe(0);
    expect(mayfly('exec', name, 'cat', '/data/f').stdout).toBe('kept\n');
    expect(mayfly('volume', 'ls').stdout).toMatch(new RegExp(`^local\\s+${vol}$`, 'm'));
    expect(mayfly('volume', 'rm', vol).stderr).toContain(`in use by ${name}`);
    const stats = mayfly('stats', '--no-stream', name).stdout;
    expect(stats).toMatch(new RegExp(`${name}\\s+[\\d.]+s\\s+[\\d.]+MiB / (--|[\\d.]+MiB)\\s+\\d+`));
    expect(mayfly('rm', '-f', name).status).toBe(0);
    expect(mayfly('volume', 'rm', vol).stdout).toBe(`${vol}\n`);
    expect(mayfly('volume', 'ls', '-q').stdout).not.toContain(vol);
  });
});
