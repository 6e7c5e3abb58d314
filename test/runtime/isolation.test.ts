import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSYBOX, isRoot, sh, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();

describe('isolation', () => {
  it('hides host processes: the container sees only its own', async () => {
    const { out } = await sh(runtime(), 'ls /proc | grep -E "^[0-9]+$"');
    const pids = out.trim().split('\n').map(Number);
    expect(pids).toContain(1);
    expect(pids.length).toBeLessThanOrEqual(3); // sh, ls, grep
    expect(pids).not.toContain(process.pid);
  });

  it('hides host files outside the mounts', async () => {
    const marker = join(process.env.MAYFLY_TEST_TMP_BASE!, `host-secret-${process.pid}`);
    writeFileSync(marker, 'TOP-SECRET-CONTENT');
    const { out } = await sh(runtime(), `cat ${marker} 2>&1; ls /; cat /proc/1/mountinfo | wc -l`);
    expect(out).toContain('No such file');
    expect(out).not.toContain('TOP-SECRET-CONTENT');
    expect(out).not.toMatch(/\bwork\b|\bnode_modules\b/);
  });

  it('maps uid 0 inside to the caller outside', async () => {
    const rt = runtime();
    const c = await rt.create({ layers: [BUSYBOX], command: ['sh', '-c', 'id -u; head -1 /proc/self/uid_map; touch /made-inside'] });
    const chunks: string[] = [];
    await c.start({ onOutput: (_s, d) => chunks.push(Buffer.from(d).toString()) });
    expect((await c.wait()).exitCode).toBe(0);
    const [uid, map] = chunks.join('').trim().split('\n');
    expect(uid).toBe('0');
    expect(map!.trim().split(/\s+/).slice(0, 2)).toEqual(['0', String(process.getuid!())]);
    // what root creates inside belongs to the caller on the host
    expect(statSync(join(c.dir, 'upper/made-inside')).uid).toBe(process.getuid!());
    await c.remove();
  });

  it('gives the container its own hostname, and /etc/hosts names it', async () => {
    const { out } = await sh(runtime(), 'hostname; cat /etc/hostname; grep -c box1 /etc/hosts', { hostname: 'box1' });
    expect(out.trim().split('\n')).toEqual(['box1', 'box1', '1']);
  });

  it('trims capabilities and sets no_new_privs', async () => {
    const { out } = await sh(runtime(), 'grep -E "CapBnd|NoNewPrivs" /proc/self/status; mount -t tmpfs x /mnt 2>&1; echo mount=$?');
    const capBnd = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(out)![1]}`);
    expect(capBnd & (1n << 21n)).toBe(0n); // CAP_SYS_ADMIN gone
    expect(capBnd & (1n << 0n)).toBe(1n); // CAP_CHOWN kept
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/mount=[1-9]/);
  });

  it('starts the program with default signal dispositions (Node ignores SIGPIPE; the container must not)', async () => {
    const c = await runtime().create({ layers: [BUSYBOX], command: ['cat', '/proc/self/status'] });
    const chunks: string[] = [];
    await c.start({ onOutput: (_s, d) => chunks.push(Buffer.from(d).toString()) });
    await c.wait();
    await c.remove();
    const out = chunks.join('');
    expect(out).toMatch(/SigIgn:\s+0+\n/);
    expect(out).toMatch(/SigBlk:\s+0+\n/);
  });

  it('network none: only a loopback interface, and it is up', async () => {
    const { out } = await sh(runtime(), 'ls /sys/class/net; ip addr show lo | grep -c "state UNKNOWN\\|UP"');
    expect(out.trim().split('\n')[0]).toBe('lo');
    expect(out.trim().split('\n')).toHaveLength(2);
  });

  it('network host: sees the host interfaces', async () => {
    const { out } = await sh(runtime(), 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort', { network: 'host' });
    const host = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
    expect(out.trim().split('\n')).toEqual(host);
  });

  it('lets root in the container own files as other users when a range is mapped', async () => {
    const { out, exitCode } = await sh(runtime(), 'touch /f && chown 999:999 /f && ls -ln /f');
    const fullMap = isRoot || runtime().info.idMapping.single === false;
    if (fullMap) {
      expect(exitCode).toBe(0);
      expect(out).toMatch(/999\s+999/);
    } else {
      expect(exitCode).not.toBe(0);
    }
  });
});
