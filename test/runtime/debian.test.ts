import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isRoot, runToEnd, useRuntime } from '../support/runtime.js';

const DEBIAN = process.env.MAYFLY_TEST_DEBIAN!;
const { runtime } = useRuntime();

async function run(command: string[], extra: Record<string, unknown> = {}): Promise<{ exitCode: number; out: string }> {
  return runToEnd(await runtime().create({ layers: [DEBIAN], command, ...extra }));
}

describe('a Debian userland (mmdebstrap minbase)', () => {
  it('runs bash, apt and the image own tools', async () => {
    const { out, exitCode } = await run(['bash', '-c', 'cat /etc/debian_version; apt-get --version | head -1; ls -ld /var/lib/apt'], { hostname: 'deb' });
    expect(exitCode).toBe(0);
    expect(out).toMatch(/^12\.\d+\n/);
    expect(out).toMatch(/apt \d+\.\d+/);
  });

  it('keeps the image ownership when a subordinate range is mapped (a service user like www-data)', async () => {
    const full = isRoot || runtime().info.idMapping.single === false;
    // files owned by root in the image are owned by the caller on the host; others by mapped ids
    expect(statSync(join(DEBIAN, 'etc/passwd')).uid).toBe(process.getuid!());
    const { out, exitCode } = await run(['bash', '-c', 'id; install -d -o www-data -g www-data /srv/www && stat -c "%U:%G" /srv/www; setpriv --reuid=www-data --regid=www-data --clear-groups id -un'], { user: 'root' });
    if (!full) return expect(exitCode).not.toBe(0);
    expect(exitCode).toBe(0);
    expect(out).toContain('uid=0(root)');
    expect(out).toContain('www-data:www-data');
    expect(out.trim().endsWith('www-data')).toBe(true);
  });

  it('runs as an image user by name, with its home and groups', async () => {
    const { out } = await run(['sh', '-c', 'id; echo $HOME; pwd'], { user: 'www-data', workingDir: '/var/www' });
    expect(out).toContain('uid=33(www-data) gid=33(www-data)');
    expect(out).toContain('/var/www\n/var/www');
  });
});
