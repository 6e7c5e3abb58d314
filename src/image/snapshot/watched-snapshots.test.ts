import { chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkAndWatch, stillIntact } from './watched-snapshots.js';

// the watchers open now: fs.watch's, counted until they are closed (libuv shows no unref'd handle)
const open = vi.hoisted(() => new Map<object, string>());
const watchersOf = (dir: string) => [...open.values()].filter((path) => path.startsWith(`${dir}/`)).length;
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const watch = (...args: Parameters<typeof fs.watch>) => {
    const w = fs.watch(...args);
    open.set(w, String(args[0]));
    w.once('close', () => open.delete(w));
    return w;
  };
  return { ...fs, default: { ...fs, watch }, watch };
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** a snapshot's directory: data/ with a file in a subdirectory, and a manifest */
function snapshot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mayfly-watched-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'data/0/base'), { recursive: true });
  writeFileSync(join(dir, 'data/0/base/table'), 'rows\n');
  writeFileSync(join(dir, 'manifest.json'), '[]');
  return dir;
}
const DIRS = ['', '0', '0/base'];
const pass = async () => ({ ok: true });

describe('watched snapshots', () => {
  it('a checked snapshot stays checked until a file in it changes', async () => {
    const dir = snapshot();
    expect(stillIntact(dir)).toBe(false);
    await checkAndWatch(dir, DIRS, pass);
    expect(stillIntact(dir)).toBe(true);
    truncateSync(join(dir, 'data/0/base/table'), 1);
    await vi.waitFor(() => expect(stillIntact(dir)).toBe(false));
    // and is not trusted again until checked again
    expect(stillIntact(dir)).toBe(false);
  });

  it('a changed mode, an added file or a replaced manifest makes it unchecked', async () => {
    const dir = snapshot();
    await checkAndWatch(dir, DIRS, pass);
    chmodSync(join(dir, 'data/0/base/table'), 0o600);
    await vi.waitFor(() => expect(stillIntact(dir)).toBe(false));

    await checkAndWatch(dir, DIRS, pass);
    writeFileSync(join(dir, 'data/0/extra'), 'x');
    await vi.waitFor(() => expect(stillIntact(dir)).toBe(false));

    await checkAndWatch(dir, DIRS, pass);
    writeFileSync(join(dir, 'manifest.json'), '[ ]');
    expect(stillIntact(dir)).toBe(false);
  });

  it('a failed check, a change during the check, or a directory that cannot be watched is not remembered', async () => {
    const dir = snapshot();
    await checkAndWatch(dir, DIRS, async () => ({ ok: false }));
    expect(stillIntact(dir)).toBe(false);
    await checkAndWatch(dir, DIRS, async () => {
      writeFileSync(join(dir, 'data/0/base/table'), 'changed meanwhile\n');
      return { ok: true };
    });
    // the event may arrive after the check returned: either way the change is not trusted
    await vi.waitFor(() => expect(stillIntact(dir)).toBe(false));
    await checkAndWatch(dir, [...DIRS, '0/gone'], pass);
    expect(stillIntact(dir)).toBe(false);
  });

  it('checks side by side keep one watch of the snapshot, and a check that throws keeps none', async () => {
    const dir = snapshot();
    await Promise.all([checkAndWatch(dir, DIRS, pass), checkAndWatch(dir, DIRS, pass), checkAndWatch(dir, DIRS, pass)]);
    expect(stillIntact(dir)).toBe(true);
    await vi.waitFor(() => expect(watchersOf(dir)).toBe(DIRS.length));

    const other = snapshot();
    const failing = checkAndWatch(other, DIRS, async () => {
      throw new Error('lstat: EIO');
    });
    await expect(failing).rejects.toThrow('EIO');
    expect(stillIntact(other)).toBe(false);
    await vi.waitFor(() => expect(watchersOf(other)).toBe(0));
  });
});
