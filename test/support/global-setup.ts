/**
 * Once per test run: a private MAYFLY_HOME and the test root filesystems, handed to every worker
 * through the environment (also inherited by the owner processes some tests spawn).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs } from './rootfs.js';

export default function setup(): () => void {
  const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP ?? tmpdir(), 'mayfly-test-'));
  process.env.MAYFLY_HOME = join(base, 'home');
  process.env.MAYFLY_TEST_BUSYBOX = makeBusyboxRootfs(join(base, 'busybox'));
  process.env.MAYFLY_TEST_TMP_BASE = base;
  return () => rmSync(base, { recursive: true, force: true });
}
