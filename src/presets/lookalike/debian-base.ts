/**
 * A real Debian userland without Docker Hub: `mmdebstrap --variant=minbase bookworm` from Debian's
 * package archive (~15 s), kept as a tar in a cache directory, and unpacked or imported by mayfly
 * itself — a busybox container runs tar as root of the user namespace, so the files' owners land
 * on the caller's subordinate ids. The base of the presets' look-alike images.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../../engine/runtime.js';
import { runTool } from '../../core/host-tool.js';
import { withFileLock } from '../../sys/locks.js';

export const DEBIAN_BASE_NAME = 'debian:bookworm';
const DEBIAN_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

/**
 * The minbase tar in `cacheDir`, made once (readable by every user of the machine). Made under a
 * lock: mmdebstrap's output differs from run to run, and the look-alike images' cache keys hash it,
 * so two makers side by side (CI's prebuild and the suite's set-up) would each key their images to
 * another tar and build every image twice.
 */
export async function debianBaseTar(cacheDir: string, onMaking?: () => void): Promise<string> {
  const tar = join(cacheDir, 'debian-bookworm-minbase.tar');
  if (existsSync(tar)) return tar;
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  // shared by every user of the machine, whatever the umask of the one who made it
  if (statSync(cacheDir).uid === process.getuid?.()) chmodSync(cacheDir, 0o755);
  return withFileLock(join(cacheDir, '.debian-base.lock'), async () => {
    if (existsSync(tar)) return tar;
    onMaking?.();
    const tmp = join(cacheDir, `.building-${process.pid}.tar`); // mmdebstrap picks the format by the extension
    try {
      await runTool('mmdebstrap', ['--mode=unshare', '--variant=minbase', '--quiet', 'bookworm', tmp], { code: 'BUILD_FAILED' });
      chmodSync(tmp, 0o644);
      renameSync(tmp, tar);
    } finally {
      rmSync(tmp, { force: true });
    }
    return tar;
  }, 250);
}

/**
 * Unpacks the tar into a fresh directory under `parent` with a busybox container of `rt` (`busybox`:
 * a root filesystem with busybox, see runtime/busybox-rootfs.ts). Its /dev nodes are not made: a
 * user namespace cannot, and mayfly binds the host's at run time.
 */
export async function unpackDebianBase(rt: Runtime, tar: string, busybox: string, parent: string): Promise<string> {
  const dest = mkdtempSync(join(parent, 'debian-'));
  try {
    const c = await rt.run({
      layers: [busybox],
      command: ['tar', '-x', '-f', '/in/base.tar', '-C', '/out'],
      binds: [
        { source: tar, target: '/in/base.tar', readonly: true },
        { source: dest, target: '/out' },
      ],
    });
    const { exitCode } = await c.wait();
    const errors = (await c.logs()).map((l) => l.line);
    await c.remove();
    // busybox tar has no --exclude: device nodes cannot be made in a user namespace, and nothing else may fail
    const unexpected = errors.filter((l) => !/^tar: can't create node \.\/dev\//.test(l));
    if (exitCode !== 0 && unexpected.length) throw new Error(`unpacking the Debian base failed (${exitCode}): ${unexpected.join('\n')}`);
  } catch (e) {
    await removeUnpacked(rt, busybox, dest);
    throw e;
  }
  return dest;
}

/** `debian:bookworm` in the store of `rt`, from an unpacked base directory. */
export function importDebianBase(rt: Runtime, rootfs: string): Promise<unknown> {
  return rt.importRootfs(rootfs, DEBIAN_BASE_NAME, { Env: DEBIAN_ENV, Cmd: ['bash'] });
}

/** Removes an unpacked base: its files belong to subordinate ids when rootless, so a container deletes them. */
export async function removeUnpacked(rt: Runtime, busybox: string, dir: string): Promise<void> {
  const c = await rt.run({ layers: [busybox], command: ['sh', '-c', 'rm -rf /out/* /out/.[!.]*'], binds: [{ source: dir, target: '/out' }] });
  await c.wait();
  await c.remove();
  rmSync(dir, { recursive: true, force: true });
}
