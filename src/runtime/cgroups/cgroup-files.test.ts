import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isWritableBy, parseKeyed, pollUntil, readNumber, removeCgroupDir, sweepCgroupDirs, writeOptionalControl } from './cgroup-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mayfly-cgroup-files-'));
  dirs.push(dir);
  return dir;
}

describe('cgroup files', () => {
  it('parses `key value` lines, skipping what is not a count', () => {
    const events = parseKeyed('populated 1\nfrozen 0\n\nsome avg10=0.00\n');
    expect([...events]).toEqual([
      ['populated', 1],
      ['frozen', 0],
    ]);
  });

  it('reads numbers, and "max" or a missing file as nothing', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'pids.max'), 'max\n');
    writeFileSync(join(dir, 'pids.current'), '7\n');
    expect(readNumber(join(dir, 'pids.current'))).toBe(7);
    expect(readNumber(join(dir, 'pids.max'))).toBeUndefined();
    expect(readNumber(join(dir, 'missing'))).toBeUndefined();
  });

  it('counts a cgroup writable for a user only when the user owns it', () => {
    const dir = tempDir();
    const me = process.getuid!();
    expect(isWritableBy(dir, me)).toBe(true);
    expect(isWritableBy(dir, me === 1700 ? 1701 : 1700)).toBe(false);
    expect(isWritableBy(join(dir, 'missing'), me)).toBe(false);
  });

  it('judges root by what the kernel allows', () => {
    const dir = tempDir();
    chmodSync(dir, 0o555);
    // real root may write anyway; in a user namespace or as a user, it may not
    expect(isWritableBy(dir, 0)).toBe(process.getuid!() === 0);
  });

  it('skips optional files that are absent', async () => {
    const dir = tempDir();
    await writeOptionalControl(join(dir, 'memory.swap.max'), 0);
    expect(readNumber(join(dir, 'memory.swap.max'))).toBeUndefined();
  });

  it('removes a cgroup that is already gone without complaint, and reports one it cannot remove', async () => {
    const dir = tempDir();
    await expect(removeCgroupDir(join(dir, 'gone'))).resolves.toBeUndefined();
    mkdirSync(join(dir, 'parent/child'), { recursive: true });
    await expect(removeCgroupDir(join(dir, 'parent'))).rejects.toMatchObject({ code: 'CGROUP_FAILED' });
  });

  it('polls until a condition holds or the time is up', async () => {
    let calls = 0;
    expect(await pollUntil(() => ++calls === 3, 1000, 1)).toBe(true);
    const started = Date.now();
    expect(await pollUntil(() => false, 50, 5)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });
});

describe('sweepCgroupDirs', () => {
  it('removes old, empty, unclaimed container cgroups only', async () => {
    const parent = tempDir();
    const id = (n: number) => n.toString(16).padStart(n === 2 ? 32 : 64, '0'); // 2: an id of a home made before ids had Docker's 64 digits
    const old = Date.now() / 1000 - 3600;
    for (const name of [`c-${id(1)}`, `c-${id(2)}`, `c-${id(3)}`, `c-${id(4)}`, 'c-not-an-id', 'sandbox']) mkdirSync(join(parent, name));
    for (const name of [`c-${id(1)}`, `c-${id(2)}`, `c-${id(4)}`, 'c-not-an-id', 'sandbox']) utimesSync(join(parent, name), old, old);
    const removed = await sweepCgroupDirs([parent, join(parent, 'missing')], 'c-', (x) => x === id(1));
    expect(removed.sort()).toEqual([id(2), id(4)].sort());
    expect(existsSync(join(parent, `c-${id(1)}`))).toBe(true); // claimed
    expect(existsSync(join(parent, `c-${id(3)}`))).toBe(true); // too young
    expect(existsSync(join(parent, 'sandbox'))).toBe(true);
  });
});

describe('sweepCgroupDirs with known orphans', () => {
  it('removes them at once, without the grace period', async () => {
    const parent = tempDir();
    const orphan = 'a'.repeat(32);
    mkdirSync(join(parent, orphan));
    expect(await sweepCgroupDirs([parent], '', () => false)).toEqual([]);
    expect(await sweepCgroupDirs([parent], '', () => false, new Set([orphan]))).toEqual([orphan]);
  });
});
