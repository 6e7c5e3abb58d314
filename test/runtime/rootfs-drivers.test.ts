import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
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

/** Where a driver keeps a container's writes, as a path this process can read. */
type WritesAt = (rt: Runtime, dir: string) => string;
const inContainerDir = (sub: string): WritesAt => (_rt, dir) => join(dir, sub);
// on a tmpfs mounted in the sandbox's own mount namespace: seen through its /proc/PID/root
const onSandboxTmpfs: WritesAt = (rt, dir) => `/proc/${rt.sandbox.processId()}/root${join(rt.info.runDir, 'upper', basename(dir), 'upper')}`;

describe.each([
  { driver: 'overlay', usable: true, writesAt: inContainerDir('upper') },
  { driver: 'overlay-tmpfs', usable: true, writesAt: onSandboxTmpfs },
  { driver: 'copy', usable: true, writesAt: inContainerDir('rootfs') },
  { driver: 'fuse-overlayfs', usable: fuseUsable(), writesAt: inContainerDir('upper') },
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
    if (!driver.startsWith('overlay')) expect(out.join('')).not.toMatch(/^overlay \/ overlay/m);
    expect(readFileSync(join(BUSYBOX, 'etc/marker'), 'utf8')).toBe('from the layer\n');
    expect(readFileSync(join(writesAt(rt, c.dir), 'etc/marker'), 'utf8')).toBe('changed\n');
    const writes = writesAt(rt, c.dir);
    await c.remove();
    expect(existsSync(c.dir)).toBe(false);
    expect(existsSync(writes)).toBe(false);
  });

  it.runIf(usable)('applies whiteouts and opaque directories of upper layers', async () => {
    const c = await rt.create({ layers: [BUSYBOX, whiteoutLayer()], command: ['sh', '-c', 'ls /etc/marker 2>&1; ls /home; ls /bin/sh'] });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    await c.wait();
    await c.remove();
    expect(out.join('').split('\n')).toEqual(["ls: /etc/marker: No such file or directory", 'only-top', '/bin/sh', '']);
  });

  it.runIf(usable)('diff: commit keeps what the container added, changed and deleted, and nothing else', async () => {
    await rt.importRootfs(BUSYBOX, `test/driver-base:${driver}`);
    const c = await rt.create({
      image: `test/driver-base:${driver}`,
      command: ['sh', '-c', 'rm /etc/marker && rm -r /home && mkdir -p /srv/new && echo added > /srv/new/file && echo changed > /etc/motd && ln -s /srv/new/file /link && sleep 1000'],
    });
    await c.start();
    const committed = async () => {
      const img = await rt.commit(c, `test/driver-commit:${driver}`, { Cmd: ['sh', '-c', 'ls /etc/marker /home 2>&1; cat /srv/new/file /etc/motd /link; ls /bin/sh'] });
      return img.layers.at(-1)!;
    };
    const until = async () => {
      for (let i = 0; i < 200; i++) {
        const probe = await c.exec(['sh', '-c', 'test -L /link']);
        if (probe.exitCode === 0) return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until();
    const layer = await committed();
    await c.remove({ force: true });
    const d = await rt.create({ image: `test/driver-commit:${driver}` });
    const out: string[] = [];
    await d.start({ onOutput: (_s, data) => out.push(Buffer.from(data).toString()) });
    await d.wait();
    await d.remove();
    expect(out.join('').split('\n')).toEqual(['ls: /etc/marker: No such file or directory', 'ls: /home: No such file or directory', 'added', 'changed', 'added', '/bin/sh', '']);
    // only the changes: the layer holds no copy of busybox
    expect(layer.size).toBeLessThan(100_000);
    await rt.rmi(`test/driver-commit:${driver}`);
    await rt.rmi(`test/driver-base:${driver}`);
  });
});
