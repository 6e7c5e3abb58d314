/**
 * The shared sandbox (issue 18): a run's workers share one sandbox process per MAYFLY_HOME, and a
 * worker's containers still go with it. Real worker processes, real SIGKILL: of a worker (exactly
 * its containers go, another's keep running), of the worker that started the sandbox (the sandbox
 * stays for the others), of the sandbox (every container, port and directory goes, the workers get
 * SANDBOX_GONE, and a new Runtime starts another), and nothing left after all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { closeSharedRuntime, sharedRuntime } from '../../src/harness/session.js';
import { homeProcesses, leftovers, settled } from '../support/leftovers.js';
import { usePrivateHome } from '../support/private-home.js';
import { record } from '../support/reliability-log.js';
import { BUSYBOX, until } from '../support/runtime.js';

const home = usePrivateHome('shared-sandbox');

interface Worker {
  child: ChildProcess;
  held: { dir: string; sandbox: number; sandboxId: string; shared: boolean; ports: number[] };
  ask(line: string): Promise<Record<string, unknown>>;
}

const workers: ChildProcess[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) w.kill('SIGKILL');
  await settled(home);
});

async function startWorker(marker: string, env: NodeJS.ProcessEnv = {}): Promise<Worker> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../support/shared-worker.mjs'), BUSYBOX, marker], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  workers.push(child);
  const lines: Interface = createInterface({ input: child.stdout! });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      lines.once('line', (l) => resolve(JSON.parse(l)));
      child.once('exit', (c) => reject(new Error(`worker exited with ${c}`)));
    });
  const held = (await next()) as Worker['held'];
  return { child, held, ask: (line) => (child.stdin!.write(`${line}\n`), next()) };
}

function sleepers(marker: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
        return argv[0] === 'sleep' && argv[1] === marker;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Node sandbox processes of the home (not their `unshare` wrappers). */
const sandboxes = () => homeProcesses(home).filter((p) => p.cmd.startsWith(process.execPath) && p.cmd.includes('sandbox/main.js'));

const markers = (n: number) => Array.from({ length: n }, (_, i) => String(420000 + (process.pid % 10000) * 4 + i));

describe.each([
  ['native start', {}],
  ['Node shim start (MAYFLY_START_PATH=node)', { MAYFLY_START_PATH: 'node' }],
])('the shared sandbox, %s', (_, env) => {
  it('workers share one sandbox; SIGKILL of a worker removes exactly its containers, even the one that started the sandbox', async () => {
    const [ma, mb, mc] = markers(3);
    const a = await startWorker(ma!, env);
    const b = await startWorker(mb!, env);
    const c = await startWorker(mc!, env);
    expect(a.held.shared).toBe(true);
    expect(new Set([a.held.sandboxId, b.held.sandboxId, c.held.sandboxId]).size).toBe(1);
    expect(sandboxes().length).toBe(1);
    await until(() => sleepers(ma!).length === 1 && sleepers(mb!).length === 1 && sleepers(mc!).length === 1, 5000, 'the three containers');
    // A started the sandbox: its death takes its container, not the sandbox
    const before = homeProcesses(home);
    a.child.kill('SIGKILL');
    record('kill', 'worker that started the shared sandbox');
    await until(() => sleepers(ma!).length === 0 && !existsSync(a.held.dir), 10_000, "A's container to go");
    expect(sleepers(mb!).length).toBe(1);
    expect(await b.ask('exec')).toEqual({ out: 'alive' });
    expect(existsSync(`/proc/${b.held.sandbox}`)).toBe(true);
    b.child.kill('SIGKILL');
    await until(() => sleepers(mb!).length === 0 && !existsSync(b.held.dir), 10_000, "B's container to go");
    expect(await c.ask('exec')).toEqual({ out: 'alive' });
    // the last one closes: its container goes, then (after a grace) the sandbox
    expect(await c.ask('close')).toEqual({ closed: true });
    expect(existsSync(c.held.dir)).toBe(false);
    c.child.kill('SIGKILL');
    await settled(home, before);
    expect(await leftovers({ home, before, ports: [...a.held.ports, ...b.held.ports, ...c.held.ports] })).toEqual([]);
  }, 60_000);

  it('SIGKILL of the shared sandbox: every container and port goes, workers get SANDBOX_GONE, a new Runtime starts another', async () => {
    const [ma, mb] = markers(2);
    const a = await startWorker(ma!, env);
    const b = await startWorker(mb!, env);
    await until(() => sleepers(ma!).length === 1 && sleepers(mb!).length === 1, 5000, 'the two containers');
    const before = homeProcesses(home);
    process.kill(a.held.sandbox, 'SIGKILL');
    record('kill', 'shared sandbox holding 2 workers’ containers');
    await until(() => sleepers(ma!).length === 0 && sleepers(mb!).length === 0, 10_000, 'the pid namespace to end');
    expect(await a.ask('wait')).toEqual({ exitCode: 137 });
    expect(await b.ask('exec')).toEqual({ error: 'SANDBOX_GONE' });
    // a new runtime: a new sandbox (the stale pointer replaced), which sweeps the dead one's directories
    const rt = await Runtime.start({ shared: true, onWarning: () => {} });
    expect(rt.sandbox.id).not.toBe(a.held.sandboxId);
    const c = await rt.run({ layers: [BUSYBOX], command: ['echo', 'again'] });
    expect((await c.wait()).exitCode).toBe(0);
    expect(existsSync(a.held.dir) || existsSync(b.held.dir)).toBe(false);
    await rt.close();
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
    await settled(home, before);
    expect(await leftovers({ home, before, ports: [...a.held.ports, ...b.held.ports] })).toEqual([]);
  }, 60_000);
});

describe('sharing', () => {
  it('two runtimes starting at once end up on one sandbox; other settings, or MAYFLY_SHARED_SANDBOX=0 for the harness, get their own', async () => {
    const [x, y] = await Promise.all([Runtime.start({ shared: true, onWarning: () => {} }), Runtime.start({ shared: true, onWarning: () => {} })]);
    expect(x.sandbox.id).toBe(y.sandbox.id);
    expect(x.sandbox.shared).toBe(true);
    expect(sandboxes().length).toBe(1);
    // a setting the sandbox reads at start: never shared across it
    process.env.MAYFLY_CGROUPS = 'none';
    try {
      const z = await Runtime.start({ shared: true, onWarning: () => {} });
      expect(z.sandbox.id).not.toBe(x.sandbox.id);
      await z.close();
    } finally {
      delete process.env.MAYFLY_CGROUPS;
    }
    await Promise.all([x.close(), y.close()]);
    process.env.MAYFLY_SHARED_SANDBOX = '0';
    try {
      const own = await sharedRuntime();
      expect(own.sandbox.shared).toBe(false);
      await closeSharedRuntime();
    } finally {
      delete process.env.MAYFLY_SHARED_SANDBOX;
    }
    const harness = await sharedRuntime();
    expect(harness.sandbox.shared).toBe(true);
    await closeSharedRuntime();
    await settled(home);
    expect(await leftovers({ home })).toEqual([]);
  }, 60_000);
});
