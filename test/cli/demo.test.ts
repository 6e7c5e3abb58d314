import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The README's first command must keep working: scripts/demo runs exactly this after its set-up.
describe('the demo', () => {
  it('starts a web server in a rootless container, fetches its page, and removes it', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../examples/demo.mjs')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/answered on http:\/\/127\.0\.0\.1:\d+\/ in \d+ ms/);
    expect(r.stdout).toContain('<h1>hello from a rootless mayfly container (demo)</h1>');
    expect(r.stdout).toMatch(/^\s+1 root\s+httpd$/m);
    expect(r.stdout).toContain('removed: no process, mount or directory of it is left');
  });
});
