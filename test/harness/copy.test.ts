import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { x as tarExtract } from 'tar';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { container, Wait } from '../../src/index.js';
import { tarOf } from '../support/registry.js';
import { BUSYBOX, caught } from '../support/runtime.js';

const scratch = mkdtempSync(join(tmpdir(), 'mayfly-copy-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const sleeper = () => container().withLayers(BUSYBOX).withCommand(['sleep', '300']).withWaitStrategy(Wait.none());

describe('copying files', () => {
  it('before start: host files, directories and content are in place (owned by the container root) when the program starts', async () => {
    const host = mkdtempSync(join(scratch, 'host-'));
    writeFileSync(join(host, 'app.conf'), 'port=8080\n');
    mkdirSync(join(host, 'site/css'), { recursive: true });
    writeFileSync(join(host, 'site/index.html'), '<h1>hi</h1>');
    writeFileSync(join(host, 'site/css/a.css'), 'h1{}');
    await using c = await container()
      .withLayers(BUSYBOX)
      .withCopyFilesToContainer([{ source: join(host, 'app.conf'), target: '/etc/app/app.conf' }])
      .withCopyDirectoriesToContainer([{ source: join(host, 'site'), target: '/srv/www' }])
      .withCopyContentToContainer([{ content: '#!/bin/sh\necho from content\n', target: '/usr/local/bin/hello', mode: 0o755 }])
      .withCommand(['sh', '-c', 'cat /etc/app/app.conf; cat /srv/www/index.html; echo; ls /srv/www/css; hello; stat -c %u:%g /etc/app/app.conf; sleep 300'])
      .withWaitStrategy(Wait.forLogMessage(/^\d+:\d+$/))
      .start();
    const out = await c.output();
    expect(out).toBe('port=8080\n<h1>hi</h1>\na.css\nfrom content\n0:0\n');
  });

  it('into and out of a running container: files, content, archives; readFile', async () => {
    await using c = await sleeper().start();
    await c.copyTo([
      { content: 'one', target: '/data/one.txt' },
      { content: 'two', target: '/data/nested/two.txt', mode: 0o600 },
    ]);
    await c.copyArchiveTo(tarOf({ 'from-archive.txt': 'three' }), '/data');
    // into the root itself (what copies of a top-level directory come down to)
    await c.copyArchiveTo(tarOf({ 'at-root.txt': 'four' }), '/');
    expect((await c.readFile('/at-root.txt')).toString()).toBe('four');
    expect((await c.exec('cat /data/one.txt /data/nested/two.txt /data/from-archive.txt; stat -c %a /data/nested/two.txt')).stdout).toBe('onetwothree600\n');
    expect((await c.readFile('/data/nested/two.txt')).toString()).toBe('two');

    const out = mkdtempSync(join(scratch, 'out-'));
    await pipeline(await c.copyFrom('/data'), tarExtract({ cwd: out }));
    expect(readFileSync(join(out, 'data/nested/two.txt'), 'utf8')).toBe('two');
    expect((await caught(c.readFile('/no/such/file'))).code).toBe('COPY_FAILED');
  });

  it('a symlink planted in the container cannot steer a copy onto the host', async () => {
    const victim = mkdtempSync(join(scratch, 'victim-'));
    await using c = await sleeper().start();
    // inside the container, /escape points at the host directory's path
    await c.exec(['ln', '-s', victim, '/escape']);
    await c.copyTo({ content: 'pwned', target: '/escape/owned.txt' });
    expect(() => readFileSync(join(victim, 'owned.txt'))).toThrow(); // landed inside the container instead
    expect((await c.exec(['cat', `${victim}/owned.txt`])).stdout).toBe('pwned');
  });
});
