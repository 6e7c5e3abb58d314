import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/runtime/runtime.js';
import { BUSYBOX } from '../support/runtime.js';

// Where a kernel refuses overlayfs in a user namespace, each container gets a private copy.
describe('copy root filesystem driver', () => {
  let rt: Runtime;
  beforeAll(async () => {
    process.env.MAYFLY_ROOTFS_DRIVER = 'copy';
    rt = await Runtime.start({ onWarning: () => {} });
    delete process.env.MAYFLY_ROOTFS_DRIVER;
  });
  afterAll(() => rt.close());

  it('runs the container from a copy; writes never reach the layer', async () => {
    expect(rt.info.rootfsDriver).toBe('copy');
    const c = await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', 'cat /etc/marker; echo changed > /etc/marker; grep " / " /proc/mounts'] });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    expect((await c.wait()).exitCode).toBe(0);
    expect(out.join('')).toContain('from the layer');
    expect(out.join('')).not.toContain('overlay');
    expect(readFileSync(join(BUSYBOX, 'etc/marker'), 'utf8')).toBe('from the layer\n');
    expect(readFileSync(join(c.dir, 'rootfs/etc/marker'), 'utf8')).toBe('changed\n');
    await c.remove();
    expect(existsSync(c.dir)).toBe(false);
  });
});
