/**
 * A real Debian userland for the tests: `mmdebstrap --variant=minbase bookworm` once per machine
 * (~15 s from Debian's archive), kept as a tar in a cache shared by every user of the machine, and
 * unpacked per test run by mayfly itself (a busybox container running tar as root of its user
 * namespace, so that the image's owners land on the caller's subordinate ids).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime/runtime.js';

export const TEST_CACHE = process.env.MAYFLY_TEST_CACHE ?? '/var/tmp/mayfly-test-cache';

export function debianBaseTar(): string {
  const tar = join(TEST_CACHE, 'debian-bookworm-minbase.tar');
  if (existsSync(tar)) return tar;
  mkdirSync(TEST_CACHE, { recursive: true, mode: 0o755 });
  chmodSync(TEST_CACHE, 0o755);
  const tmp = join(TEST_CACHE, `.building-${process.pid}.tar`); // mmdebstrap picks the format by the extension
  execFileSync('mmdebstrap', ['--mode=unshare', '--variant=minbase', '--quiet', 'bookworm', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  chmodSync(tmp, 0o644);
  renameSync(tmp, tar);
  return tar;
}

/** Unpacks the Debian base into a fresh directory under `parent`; its /dev nodes are not made (mayfly binds them at run time). */
export async function unpackDebianBase(busybox: string, parent: string): Promise<string> {
  const tar = debianBaseTar();
  const dest = mkdtempSync(join(parent, 'debian-'));
  const rt = await Runtime.start({ onWarning: () => {} });
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
    rmSync(dest, { recursive: true, force: true });
    throw e;
  } finally {
    await rt.close();
  }
  return dest;
}
