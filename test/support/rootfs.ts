/**
 * Test root filesystems made from what the machine has: a busybox tree from Debian's
 * busybox-static, owned by whoever runs the tests (so it is mapped inside their user namespace).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

export function makeBusyboxRootfs(dir: string): string {
  if (!BUSYBOX) throw new Error('busybox-static is not installed (apt install busybox-static)');
  for (const d of ['bin', 'etc', 'tmp', 'root', 'var/www', 'home/app']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) symlinkSync('busybox', join(dir, 'bin', a));
  writeFileSync(
    join(dir, 'etc/passwd'),
    ['root:x:0:0:root:/root:/bin/sh', 'www-data:x:33:33:www-data:/var/www:/bin/sh', 'app:x:999:999:app:/home/app:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh', ''].join('\n'),
  );
  writeFileSync(join(dir, 'etc/group'), ['root:x:0:', 'tty:x:5:', 'www-data:x:33:', 'app:x:999:', 'extra:x:1234:app', 'nogroup:x:65534:', ''].join('\n'));
  writeFileSync(join(dir, 'etc/marker'), 'from the layer\n');
  chmodSync(join(dir, 'tmp'), 0o1777);
  return dir;
}
