import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usePresetImages } from '../support/preset-images.js';

usePresetImages(); // nginx and postgres through the docker.io mirror, as a user with Docker Hub gets them

// The README's first command must keep working: scripts/demo runs exactly this after its set-up.
describe('the demo', () => {
  it('starts the static site and postgres, prints their URLs, shows both answer, and removes them', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, '../../examples/demo.mjs')], { encoding: 'utf8', timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^static site\s+http:\/\/127\.0\.0\.1:\d+\/\s+\(ready after \d+ ms\)$/m);
    expect(r.stdout).toMatch(/^postgres\s+postgres:\/\/test:demo@127\.0\.0\.1:\d+\/test\s+\(ready after \d+ ms\)$/m);
    expect(r.stdout).toContain('GET /             → hello from a rootless mayfly container');
    expect(r.stdout).toMatch(/select version\(\)\s+→ PostgreSQL \d+/);
    expect(r.stdout).toContain('removed: no process, mount or directory of theirs is left');
  }, 180_000);
});
