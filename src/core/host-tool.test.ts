import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './host-tool.js';

describe('runTool', () => {
  it('resolves on exit 0 and names the tool and its message otherwise', async () => {
    await expect(runTool('true', [])).resolves.toBeUndefined();
    await expect(runTool('sh', ['-c', 'echo nope >&2; exit 3'], { code: 'BUILD_FAILED' })).rejects.toMatchObject({ code: 'BUILD_FAILED', message: 'sh -c echo nope >&2; exit 3 failed: nope' });
    await expect(runTool('/no/such/tool', [])).rejects.toMatchObject({ code: 'ROOTFS_FAILED', message: expect.stringMatching(/\/no\/such\/tool {2}failed: spawn \/no\/such\/tool ENOENT/) });
  });

  it('an abort settles only once the tool has exited: nothing it would write comes after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mayfly-host-tool-'));
    try {
      const abort = new AbortController();
      // the tool writes a file a moment after SIGTERM: the promise must not settle before that
      const running = runTool('sh', ['-c', `trap 'sleep 0.3; touch ${dir}/late; exit 1' TERM; while :; do sleep 0.05; done`], { signal: abort.signal });
      await new Promise((r) => setTimeout(r, 200));
      abort.abort();
      await expect(running).rejects.toMatchObject({ message: expect.stringMatching(/aborted/) });
      expect(existsSync(join(dir, 'late'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
