import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mayflyHome } from '../../src/core/paths.js';
import { BUSYBOX, sh, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();
const tmp = () => mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'mnt-'));

describe('root filesystem', () => {
  it('writes land in the upper dir, never in the layer', async () => {
    const rt = runtime();
    const c = await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', 'echo changed > /etc/marker; echo new > /new-file; rm /bin/vi'] });
    await c.start();
    expect((await c.wait()).exitCode).toBe(0);
    expect(readFileSync(join(BUSYBOX, 'etc/marker'), 'utf8')).toBe('from the layer\n');
    expect(existsSync(join(BUSYBOX, 'new-file'))).toBe(false);
    expect(existsSync(join(BUSYBOX, 'bin/vi'))).toBe(true);
    expect(readFileSync(join(c.dir, 'upper/etc/marker'), 'utf8')).toBe('changed\n');
    await c.remove();
    expect(existsSync(c.dir)).toBe(false);
  });

  it('stacks several layers, the upper one winning', async () => {
    const top = tmp();
    writeFileSync(join(top, 'only-top'), 'top\n');
    const { out } = await sh(runtime(), 'cat /only-top /etc/marker', { layers: [BUSYBOX, top] });
    expect(out).toBe('top\nfrom the layer\n');
  });

  it('refuses to follow an image symlink out of the root when mounting', async () => {
    const evil = tmp();
    const { symlinkSync } = await import('node:fs');
    symlinkSync('../../../../../../../..', join(evil, 'escape'));
    const { out } = await sh(runtime(), 'ls /escape/data-here && echo inside', { layers: [BUSYBOX, evil], tmpfs: [{ path: '/escape/data-here' }] });
    expect(out).toContain('inside'); // the tmpfs landed inside the container's root, not on the host's
    expect(existsSync('/data-here')).toBe(false);
  });
});

describe('/dev', () => {
  it('has the usual devices, a private pts, shm and mqueue', async () => {
    const { out, exitCode } = await sh(
      runtime(),
      'echo x > /dev/null && head -c 8 /dev/urandom | wc -c && head -c 4 /dev/zero | wc -c && echo $(ls /dev) && grep -c -E " /dev/(pts|shm|mqueue) " /proc/mounts',
    );
    expect(exitCode).toBe(0);
    const [random, zero, names, specials] = out.trim().split('\n');
    expect([random!.trim(), zero!.trim(), specials]).toEqual(['8', '4', '3']);
    for (const d of ['full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero', 'fd']) {
      expect(names!.split(' ')).toContain(d);
    }
  });
});

describe('tmpfs', () => {
  it('is memory-backed, sized, and gone after stop', async () => {
    const rt = runtime();
    const c = await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', 'grep " /data " /proc/mounts; ls /data; echo kept > /data/f; sleep 1000'], tmpfs: [{ path: '/data', size: '8m', mode: 0o750 }], stopTimeout: 0 });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    await new Promise((r) => setTimeout(r, 200));
    expect(out.join('')).toMatch(/^tmpfs \/data tmpfs rw,nosuid,nodev,relatime,size=8192k,mode=750/);
    await c.stop();
    expect(existsSync(join(c.dir, 'upper/data/f'))).toBe(false);
    out.length = 0;
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    await new Promise((r) => setTimeout(r, 200));
    expect(out.join('')).not.toContain('f\n'); // `ls /data` printed nothing: the old file is gone
    await c.remove({ force: true });
  });
});

describe('bind mounts and volumes', () => {
  it('binds host directories read-write and read-only', async () => {
    const rw = tmp();
    const ro = tmp();
    writeFileSync(join(ro, 'given'), 'from host\n');
    const { out } = await sh(runtime(), 'echo written > /rw/out; cat /ro/given; echo x > /ro/nope 2>&1 || echo ro-refused', {
      binds: [
        { source: rw, target: '/rw' },
        { source: ro, target: '/ro', readonly: true },
      ],
    });
    expect(readFileSync(join(rw, 'out'), 'utf8')).toBe('written\n');
    expect(out).toContain('from host');
    expect(out).toContain('ro-refused');
    expect(existsSync(join(ro, 'nope'))).toBe(false);
  });

  it('mounts the shallower path first, as Docker does: a tmpfs inside a bind mount stays visible', async () => {
    const app = tmp();
    writeFileSync(join(app, 'source.js'), 'code\n');
    const { out } = await sh(runtime(), 'cat /app/source.js; grep " /app/node_modules " /proc/mounts | cut -d" " -f3; echo x > /app/node_modules/dep; ls /app/node_modules', {
      tmpfs: [{ path: '/app/node_modules' }],
      binds: [{ source: app, target: '/app' }],
    });
    expect(out).toBe('code\ntmpfs\ndep\n');
    expect(existsSync(join(app, 'node_modules/dep'))).toBe(false);
  });

  it('a missing bind source is a clear error', async () => {
    await expect(runtime().create({ layers: [BUSYBOX], command: ['true'], binds: [{ source: '/nonexistent/dir', target: '/x' }] })).rejects.toThrow(/does not exist/);
  });

  it('named volumes survive the container', async () => {
    const name = `vol-${process.pid}`;
    await sh(runtime(), 'echo persisted > /v/file', { volumes: [{ name, target: '/v' }] });
    const { out } = await sh(runtime(), 'cat /v/file', { volumes: [{ name, target: '/v' }] });
    expect(out).toBe('persisted\n');
    expect(readdirSync(join(mayflyHome(), 'volumes'))).toContain(name);
  });
});
