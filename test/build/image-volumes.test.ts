import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, runToEnd, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();
let image: string;

beforeAll(async () => {
  await runtime().importRootfs(BUSYBOX, 'test/volumes-base:1');
  const ctx = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'volumes-ctx-'));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM test/volumes-base:1\nRUN mkdir -p /var/lib/db && echo seed > /var/lib/db/seed && chown -R 33:33 /var/lib/db && chmod 1777 /var/lib/db\nVOLUME /var/lib/db\n');
  image = (await runtime().build({ context: ctx, tag: 'test/with-volume:1' })).id;
});

describe("an image's VOLUMEs", () => {
  it('are anonymous volumes filled from the image: writes there stay out of the container and its commit', async () => {
    const c = await runtime().create({ image, command: ['sh', '-c', 'stat -c "%u %a" /var/lib/db; cat /var/lib/db/seed; echo data > /var/lib/db/written; grep -c " /var/lib/db " /proc/mounts; sleep 1000'] });
    const out: string[] = [];
    await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
    for (let i = 0; i < 100 && !out.join('').includes('\n1\n'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(out.join('')).toBe('33 1777\nseed\n1\n');
    const committed = await runtime().commit(c, 'test/committed-volume:1', { Cmd: ['ls', '/var/lib/db'] });
    await c.remove({ force: true });
    expect((await runToEnd(await runtime().create({ image: committed.id, pull: 'never', anonymousVolumes: [] }))).out).toBe('seed\n');
  });

  it('a tmpfs (or bind, or named volume) at the path replaces it', async () => {
    const r = await runToEnd(await runtime().create({ image, tmpfs: [{ path: '/var/lib/db' }], command: ['sh', '-c', 'ls -A /var/lib/db | wc -l; grep " /var/lib/db " /proc/mounts | cut -d" " -f3'] }));
    expect(r.out).toBe('0\ntmpfs\n');
  });
});
