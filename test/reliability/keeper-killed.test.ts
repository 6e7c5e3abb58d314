/**
 * The keeper killed while it holds `mayfly run -d` containers: their processes and ports end with
 * it (its sandbox stops them, as Docker's containers end with a crashed daemon), the CLI shows them
 * exited, and `mayfly start` brings one back through a new keeper.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findProcess, homeProcesses, leftovers, settled } from '../support/leftovers.js';
import { record } from '../support/reliability-log.js';
import { BUSYBOX } from '../support/runtime.js';

const ROOT = join(import.meta.dirname, '../..');
const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'keeper-'));
const home = join(base, 'home');
const env = { ...process.env, MAYFLY_HOME: home };
const mayfly = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/mayfly.js'), ...args], { env, encoding: 'utf8', timeout: 60_000 });
afterAll(async () => {
  mayfly('rm', '-f', 'again');
  const k = findProcess(home, 'keeper/main.js');
  if (k) process.kill(k, 'SIGTERM');
  await settled(home);
  rmSync(base, { recursive: true, force: true });
});

describe('the keeper killed while holding -d containers', () => {
  it('its containers stop with it, ps -a shows them exited, and a new keeper starts them again', async () => {
    for (const name of ['one', 'two']) expect(mayfly('run', '-d', '--name', name, '-p', '80', '--rootfs', BUSYBOX, '--', 'httpd', '-f', '-p', '80').status).toBe(0);
    const ps = mayfly('ps');
    expect(ps.stdout).toMatch(/one/);
    expect(ps.stdout).toMatch(/two/);
    const ports = [...mayfly('port', 'one').stdout.matchAll(/:(\d+)$/gm)].map((m) => Number(m[1]));
    expect(ports.length).toBe(1);
    const before = homeProcesses(home);
    const keeper = findProcess(home, 'keeper/main.js')!;
    process.kill(keeper, 'SIGKILL');
    record('kill', 'keeper holding 2 -d containers');
    await settled(home, before);
    // stopped: not running, still listed
    expect(mayfly('ps').stdout).not.toMatch(/one|two/);
    const all = mayfly('ps', '-a');
    expect(all.stdout).toMatch(/Exited.*one/);
    expect(all.stdout).toMatch(/Exited.*two/);
    // a new keeper starts one again, on a port of its own
    expect(mayfly('start', 'one').status).toBe(0);
    expect(findProcess(home, 'keeper/main.js')).not.toBe(keeper);
    const port = Number(/:(\d+)$/m.exec(mayfly('port', 'one').stdout)?.[1]);
    expect((await fetch(`http://127.0.0.1:${port}/`).catch((e: Error) => e)) instanceof Error).toBe(false);
    expect(mayfly('rm', '-f', 'one', 'two').status).toBe(0);
    const again = mayfly('run', '-d', '--name', 'again', '--rootfs', BUSYBOX, '--', 'sleep', '100');
    expect(again.status).toBe(0);
    expect(mayfly('ps').stdout).toMatch(/again/);
    expect(mayfly('rm', '-f', 'again').status).toBe(0);
    const k = findProcess(home, 'keeper/main.js');
    if (k) process.kill(k, 'SIGTERM');
    await settled(home, before);
    expect(await leftovers({ home, before, ports })).toEqual([]);
  }, 90_000);
});
