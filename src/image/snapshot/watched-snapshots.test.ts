import { chmodSync, mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkAndWatch, stillIntact } from './watched-snapshots.js';

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
});
