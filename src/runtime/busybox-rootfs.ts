/**
 * A tiny root filesystem from the host's busybox-static: what the demo, the tests and the benches
 * run before images arrive. Owned by whoever makes it, so it is mapped in their user namespace.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';

const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'];

/** Makes (once) a busybox rootfs at `dir`: /bin with every applet, /etc/passwd and /etc/group. */
export function busyboxRootfs(dir: string): string {
  if (existsSync(join(dir, 'bin/sh'))) return dir;
  const busybox = BUSYBOX.find((p) => existsSync(p));
  if (!busybox) throw new MayflyError('INVALID_OPTION', 'busybox is not installed', { hint: 'apt install busybox-static' });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const d of ['bin', 'etc', 'tmp', 'root', 'var/www', 'home/app', 'www']) mkdirSync(join(tmp, d), { recursive: true });
  copyFileSync(busybox, join(tmp, 'bin/busybox'));
  chmodSync(join(tmp, 'bin/busybox'), 0o755);
  for (const applet of execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n')) {
    if (applet && applet !== 'busybox') symlinkSync('busybox', join(tmp, 'bin', applet));
  }
  writeFileSync(
    join(tmp, 'etc/passwd'),
    ['root:x:0:0:root:/root:/bin/sh', 'www-data:x:33:33:www-data:/var/www:/bin/sh', 'app:x:999:999:app:/home/app:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/sh', ''].join('\n'),
  );
  writeFileSync(join(tmp, 'etc/group'), ['root:x:0:', 'tty:x:5:', 'www-data:x:33:', 'app:x:999:', 'extra:x:1234:app', 'nogroup:x:65534:', ''].join('\n'));
  chmodSync(join(tmp, 'tmp'), 0o1777);
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(tmp, dir); // atomic: concurrent makers never see half a tree
  return dir;
}
