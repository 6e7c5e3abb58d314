import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/runtime/runtime.js';
import { BUSYBOX } from '../support/runtime.js';

function fuseUsable(): boolean {
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
    return ['/usr/bin/fuse-overlayfs', '/bin/fuse-overlayfs'].some((p) => existsSync(p));
  } catch {
    return false;
  }
}

// Where a kernel refuses overlayfs in a user namespace: fuse-overlayfs, else a private copy.
/**
 * A layer on top of busybox that deletes /etc/marker (a 0/0 character-device whiteout) and makes
 * /home opaque (hiding /home/app below): made inside a user namespace, where mknod 0/0 is allowed.
 */
function whiteoutLayer(): string {
  const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'whiteouts-'));
  execFileSync('unshare', ['--user', '--map-root-user', 'sh', '-c', 'mkdir -p etc home && mknod etc/marker c 0 0 && echo top > home/only-top && setfattr -n user.overlay.opaque -v y home'], { cwd: dir });
  return dir;
}

describe.each([
  { driver: 'overlay', usable: true, writesAt: 'upper' },
  { driver: 'copy', usable: true, writesAt: 'rootfs' },
  { driver: 'fuse-overlayfs', usable: fuseUsable(), writesAt: 'upper' },
])('$driver root filesystem driver', ({ driver, usable, writesAt }) => {
  let rt: Runtime;
  beforeAll(async () => {
    if (!usable) return;
    process.env.MAYFLY_ROOTFS_DRIVER = driver;
    rt = await Runtime.start({ onWarning: () => {} });
    delete process.env.MAYFLY_ROOTFS_DRIVER;
  });
  afterAll(() => rt?.close());

  it.runIf(usable)('runs the container; writes never reach the layer; nothing stays mounted', async () => {
    expect(rt.info.rootfsDriver).toBe(driver);
    const c = await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', 'cat /etc/marker; echo changed > /etc/marker; grep " / " /proc/mounts'] });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    expect((await c.wait()).exitCode).toBe(0);
    expect(out.join('')).toContain('from the layer');
    if (driver !== 'overlay') expect(out.join('')).not.toMatch(/^overlay \/ overlay/m);
    expect(readFileSync(join(BUSYBOX, 'etc/marker'), 'utf8')).toBe('from the layer\n');
    expect(readFileSync(join(c.dir, writesAt, 'etc/marker'), 'utf8')).toBe('changed\n');
    await c.remove();
    expect(existsSync(c.dir)).toBe(false);
  });

  it.runIf(usable)('applies whiteouts and opaque directories of upper layers', async () => {
    const c = await rt.create({ layers: [BUSYBOX, whiteoutLayer()], command: ['sh', '-c', 'ls /etc/marker 2>&1; ls /home; ls /bin/sh'] });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    await c.wait();
    await c.remove();
    expect(out.join('').split('\n')).toEqual(["ls: /etc/marker: No such file or directory", 'only-top', '/bin/sh', '']);
  });
});
