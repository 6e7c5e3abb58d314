import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import { Runtime } from '../../src/engine/runtime.js';
import { usePrivateHome } from '../support/private-home.js';
import { BUSYBOX, isRoot, until } from '../support/runtime.js';

// a killed sandbox's directories stay until the next runtime starts and sweeps them: another test
// file's runtime in a shared home would sweep them first
usePrivateHome('cleanup');

function processesWith(marker: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'sleep' && argv[1] === marker) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

/** Any process whose mount table still holds a mount of these container directories. */
function mountsOf(dirs: string[]): string[] {
  const hits = new Set<string>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      for (const line of readFileSync(`/proc/${p}/mountinfo`, 'utf8').split('\n')) if (dirs.some((d) => line.includes(d))) hits.add(line);
    } catch {
      // gone, or not ours to read
    }
  }
  return [...hits];
}

const owners: number[] = [];
afterEach(() => {
  for (const pid of owners.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

async function startOwner(count: number, marker: string): Promise<{ pid: number; dirs: string[]; sandbox: number }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '../support/owner.mjs'), BUSYBOX, String(count), marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (c) => reject(new Error(`owner exited with ${c}`)));
  });
  owners.push(child.pid!);
  return { pid: child.pid!, ...JSON.parse(line) };
}

describe('nothing left behind', () => {
  it('kill -9 of the owning process removes processes, mounts and directories', async () => {
    const marker = String(400000 + (process.pid % 10000));
    const owner = await startOwner(3, marker);
    // a start returns once the program's execve is under way: its command line may show a moment later
    await until(() => processesWith(marker).length === 3, 5000, 'the three container processes');
    expect(owner.dirs.every((d) => existsSync(d))).toBe(true);
    process.kill(owner.pid, 'SIGKILL');
    await until(() => processesWith(marker).length === 0, 10_000, 'container processes to end');
    await until(() => owner.dirs.every((d) => !existsSync(d)), 10_000, 'container directories to go');
    expect(mountsOf(owner.dirs)).toEqual([]);
    await until(() => !existsSync(`/proc/${owner.sandbox}`), 10_000, 'the sandbox to exit');
  });

  it('a sandbox killed outright takes its containers with it; the next start sweeps the directories', async () => {
    const marker = String(410000 + (process.pid % 10000));
    const owner = await startOwner(2, marker);
    process.kill(owner.sandbox, 'SIGKILL');
    await until(() => processesWith(marker).length === 0, 10_000, 'the pid namespace to end');
    expect(owner.dirs.every((d) => existsSync(d))).toBe(true); // nobody was left to clean up...
    const live = await Runtime.start();
    const keep = await live.create({ layers: [BUSYBOX], command: ['true'] });
    const next = await Runtime.start(); // ...until the next sandbox starts, which must spare live ones
    expect(owner.dirs.some((d) => existsSync(d))).toBe(false);
    expect(existsSync(keep.dir)).toBe(true);
    if (isRoot) {
      // their cgroups too (cgroup v1 as root here)
      const cgroupDirs = owner.dirs.map((d) => `/sys/fs/cgroup/memory/mayfly/${basename(d)}`);
      await until(() => cgroupDirs.every((d) => !existsSync(d)), 5000, 'orphaned cgroups to be removed');
    }
    process.kill(owner.pid, 'SIGKILL');
    await next.close();
    await live.close();
    expect(existsSync(keep.dir)).toBe(false);
  });

  it('in the owner, a killed sandbox ends every wait() (137) and later calls say SANDBOX_GONE', async () => {
    const rt = await Runtime.start();
    const c = await rt.create({ layers: [BUSYBOX], command: ['sleep', '1000'] });
    await c.start();
    const waiting = c.wait();
    process.kill(rt.sandbox.processId()!, 'SIGKILL');
    expect((await waiting).exitCode).toBe(137);
    const err = await c.exec(['true']).catch((e: unknown) => e);
    expect(isMayflyError(err, 'SANDBOX_GONE')).toBe(true);
    await c.remove(); // nothing left to remove: not an error
    await (await Runtime.start()).close(); // sweeps the dead sandbox's directory
    expect(existsSync(c.dir)).toBe(false);
  });
});
