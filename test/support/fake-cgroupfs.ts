import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A fake cgroupfs in a temp dir (removed after each test): paths ending in "/" are directories, the rest files. */
export function fakeCgroupfs(entries: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'mayfly-cgroupfs-'));
  roots.push(root);
  for (const [path, content] of Object.entries(entries)) {
    const full = join(root, path);
    mkdirSync(path.endsWith('/') ? full : dirname(full), { recursive: true });
    if (!path.endsWith('/')) writeFileSync(full, content);
  }
  return root;
}
