// Initialised-data snapshots through the harness, on a small image made from the busybox rootfs:
// its "server" initialises /state once (slowly, saying so), serves until SIGTERM, and exits 0.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, Wait, type ContainerBuilder } from '../../src/index.js';
import { Runtime } from '../../src/engine/runtime.js';
import { snapshotsDir } from '../../src/image/snapshot/snapshot-store.js';
import { usePrivateHome } from '../support/private-home.js';
import { BUSYBOX, caught, isRoot, until } from '../support/runtime.js';

// the snapshot directory is listed whole and the store pruned: no other file's snapshots may be there
usePrivateHome('init-snapshot');

const SERVER = [
  "trap 'echo stopping; exit 0' TERM INT",
  'if [ -f /state/ready ]; then echo "found state: $(cat /state/value)"',
  'else echo initialising; [ -d /count ] && echo "$HOSTNAME" >> /count/runs; sleep 0.3',
  '  echo "$VALUE" > /state/value; mkdir -p /state/owned; chown app:app /state/owned; echo x > /state/owned/file; chown app /state/owned/file',
  '  [ -n "$BIG" ] && dd if=/dev/zero of=/state/big bs=1M count=$BIG 2>/dev/null; touch /state/ready; fi',
  'echo serving',
  'sleep 100000 & wait $!',
].join('\n');

let rt: Runtime;
const tmpRoots: string[] = [];
let image = '';
let otherImage = '';

beforeAll(async () => {
  rt = await Runtime.start({ onWarning: () => {} });
  const tag = `snap-${process.pid}`;
  image = (await rt.importRootfs(BUSYBOX, `snaptest:${tag}`)).names[0]!;
  // another image: the same files plus one, so another digest
  const other = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'snap-other-'));
  tmpRoots.push(other);
  cpSync(BUSYBOX, other, { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(other, 'extra'), 'another image\n');
  const base = await rt.inspect(image);
  otherImage = (await rt.importRootfs(other, `snaptest:${tag}-other`)).names[0]!;
  expect(base.id).not.toBe(rt.inspect(otherImage).id);
}, 120_000);

afterAll(async () => {
  await rt?.close();
  for (const d of tmpRoots) rmSync(d, { recursive: true, force: true });
});

function server(value: string, img = image): ContainerBuilder {
  return container(img)
    .withCommand(['sh', '-c', SERVER])
    .withEnvironment({ VALUE: value })
    .withTmpFs({ '/state': 'mode=0750' })
    .withWaitStrategy(Wait.forLogMessage('serving'))
    .withInitSnapshot({ paths: ['/state'] });
}

const start = (b: ContainerBuilder) => b.start({ runtime: rt });
const keyDirs = () => readdirSync(snapshotsDir(rt.sandbox.home)).filter((n) => /^[0-9a-f]{64}$/.test(n));
const leftovers = () => readdirSync(snapshotsDir(rt.sandbox.home)).filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-'));

describe('initSnapshot', () => {
  it('the first start initialises and keeps the state; the next starts from it without initialising; writes stay in memory', async () => {
    const value = `first-${Date.now()}`;
    {
      await using first = await start(server(value));
      expect(first.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
      // even the first start ends up running from the snapshot it just made
      expect(await first.output()).toContain(`found state: ${value}`);
    }
    const t0 = Date.now();
    await using second = await start(server(value));
    const ms = Date.now() - t0;
    expect(second.initSnapshot).toMatchObject({ source: 'snapshot' });
    const out = await second.output();
    expect(out).toContain(`found state: ${value}`);
    expect(out).not.toContain('initialising');
    expect(ms).toBeLessThan(10_000);
    // owners and modes as the first start left them
    expect((await second.exec('stat -c "%U %a" /state /state/owned /state/owned/file')).stdout).toBe('root 750\napp 755\napp 644\n');
    // the snapshot is read, never written: 8 MB written by the test go to memory, not to its
    // files or to the container's directory on disk
    const snapshot = join(snapshotsDir(rt.sandbox.home), second.initSnapshot!.key);
    const before = readFileSync(join(snapshot, 'manifest.json'), 'utf8');
    expect((await second.exec('dd if=/dev/zero of=/state/new bs=1M count=8 2>/dev/null && echo changed > /state/value && ls /state')).stdout).toContain('new');
    expect((await second.exec('cat /state/value')).stdout).toBe('changed\n');
    expect(duBytes(second.container.dir)).toBeLessThan(4 * 1024 * 1024);
    await using third = await start(server(value));
    expect((await third.exec('cat /state/value; ls /state')).stdout).toMatch(new RegExp(`^${value}\\n(?![\\s\\S]*\\bnew\\b)`));
    expect(readFileSync(join(snapshot, 'manifest.json'), 'utf8')).toBe(before);
  }, 120_000);

  it('another option, another copied file or another image is another snapshot', async () => {
    const a = await start(server('opt-a'));
    await a.remove();
    const changed = await start(server('opt-b'));
    expect(changed.initSnapshot?.source).toBe('initialised');
    expect(changed.initSnapshot?.key).not.toBe(a.initSnapshot?.key);
    await changed.remove();
    const withFile = await start(server('opt-a').withCopyContentToContainer([{ content: 'v1', target: '/seed.txt' }]));
    const withOtherFile = await start(server('opt-a').withCopyContentToContainer([{ content: 'v2', target: '/seed.txt' }]));
    expect(new Set([a.initSnapshot?.key, withFile.initSnapshot?.key, withOtherFile.initSnapshot?.key]).size).toBe(3);
    expect(withOtherFile.initSnapshot?.source).toBe('initialised');
    await Promise.all([withFile.remove(), withOtherFile.remove()]);
    const otherImg = await start(server('opt-a', otherImage));
    expect(otherImg.initSnapshot?.source).toBe('initialised');
    expect(otherImg.initSnapshot?.key).not.toBe(a.initSnapshot?.key);
    await otherImg.remove();
  }, 120_000);

  it('8 concurrent first starts of one configuration initialise once', async () => {
    const count = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'snap-count-'));
    tmpRoots.push(count);
    const b = () => server(`concurrent-${Date.now()}`).withBindMounts([{ source: count, target: '/count' }]);
    const one = b();
    const started = await Promise.all(Array.from({ length: 8 }, () => start(one)));
    try {
      expect(readFileSync(join(count, 'runs'), 'utf8').trim().split('\n')).toHaveLength(1);
      expect(started.filter((s) => s.initSnapshot?.source === 'initialised')).toHaveLength(1);
      expect(started.filter((s) => s.initSnapshot?.source === 'snapshot')).toHaveLength(7);
    } finally {
      await Promise.all(started.map((s) => s.remove()));
    }
  }, 180_000);

  it('a corrupt, missing or foreign snapshot is rebuilt, never used', async () => {
    const value = `corrupt-${Date.now()}`;
    const made = await start(server(value));
    await made.remove();
    const dir = join(snapshotsDir(rt.sandbox.home), made.initSnapshot!.key);
    // a truncated file (the state files belong to the container's root: the user who runs the tests)
    truncateSync(join(dir, 'data/0/value'), 1);
    const afterTruncate = await start(server(value));
    expect(afterTruncate.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
    expect(afterTruncate.initSnapshot?.reason).toMatch(/value has 1 bytes/);
    expect((await afterTruncate.exec('cat /state/value')).stdout).toBe(`${value}\n`);
    await afterTruncate.remove();
    // a lost record
    rmSync(join(dir, 'snapshot.json'));
    const afterRecord = await start(server(value));
    expect(afterRecord.initSnapshot?.reason).toMatch(/record is missing/);
    await afterRecord.remove();
    // gone altogether
    await rt.snapshots.prune();
    expect(existsSync(dir)).toBe(false);
    const afterPrune = await start(server(value));
    expect(afterPrune.initSnapshot).toMatchObject({ source: 'initialised', kept: true });
    expect(afterPrune.initSnapshot?.reason).toBeUndefined();
    await afterPrune.remove();
    // a record saying another image made it
    const record = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8'));
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ ...record, imageId: rt.inspect(otherImage).id }));
    const foreign = await start(server(value));
    expect(foreign.initSnapshot?.reason).toMatch(/made by another image/);
    expect(foreign.initSnapshot?.kept).toBe(true);
    await foreign.remove();
    expect(JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')).imageId).toBe(rt.inspect(image).id);
    expect(leftovers()).toEqual([]);
  }, 180_000);

  it('a server killed while it is being quiesced leaves no snapshot; the start still succeeds on the state it initialised', async () => {
    const value = `killed-${Date.now()}`;
    const killing = () =>
      container(image)
        .withCommand(['sh', '-c', SERVER])
        .withEnvironment({ VALUE: value })
        .withInit()
        .withWaitStrategy(Wait.forLogMessage('serving'))
        .withInitSnapshot({ paths: ['/state'], quiesce: { command: ['sh', '-c', 'kill -9 $(pidof sh | tr " " "\\n" | sort -n | head -1)'], timeout: 5 } });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await using c = await start(killing());
      expect(c.initSnapshot).toMatchObject({ source: 'initialised', kept: false });
      expect(c.initSnapshot?.reason).toMatch(/did not stop cleanly .*killed \(exit 137\)/);
      expect(existsSync(join(snapshotsDir(rt.sandbox.home), c.initSnapshot!.key))).toBe(false);
      expect((await c.exec('cat /state/value')).stdout).toBe(`${value}\n`);
      await using again = await start(killing());
      expect(again.initSnapshot?.source).toBe('initialised');
    } finally {
      process.off('warning', onWarning);
    }
    // said once, not per start
    expect(warnings.filter((w) => w.includes('no initialised-data snapshot'))).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  }, 120_000);

  it('an owner killed while the snapshot is written leaves nothing that a later start would use', async () => {
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'snap-kill-home-'));
    tmpRoots.push(home);
    const value = `owner-killed-${Date.now()}`;
    // a child process owns a runtime in its own MAYFLY_HOME and makes a 300 MB snapshot; it is killed mid-copy
    const script = `
      import { container, Runtime, Wait } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).pathname)};
      const rt = await Runtime.start({ onWarning: () => {} });
      await rt.importRootfs(${JSON.stringify(BUSYBOX)}, 'snaptest:kill');
      await container('snaptest:kill').withCommand(['sh', '-c', ${JSON.stringify(SERVER)}]).withEnvironment({ VALUE: ${JSON.stringify(value)}, BIG: '300' })
        .withWaitStrategy(Wait.forLogMessage('serving')).withInitSnapshot({ paths: ['/state'] }).start({ runtime: rt });
      console.log('finished without being killed');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, MAYFLY_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const snapshots = join(home, 'snapshots');
    const tmpOf = () => (existsSync(snapshots) ? readdirSync(snapshots).filter((n) => n.startsWith('.tmp-')) : []);
    await until(() => tmpOf().length > 0 || child.exitCode !== null, 90_000, 'the snapshot being written');
    expect(output).not.toContain('finished without being killed');
    const key = tmpOf()[0]!.slice('.tmp-'.length, '.tmp-'.length + 64);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // the shared sandbox outlives its owner: it ends the copy and removes it, never completes it
    await until(() => tmpOf().length === 0, 30_000, 'the half copy to be removed');
    expect(existsSync(join(snapshots, key))).toBe(false);
    // the next owner of that home starts the same configuration: it initialises, and sweeps the half copy
    const rt2 = await Runtime.start({ home, onWarning: () => {} });
    try {
      const c = await container('snaptest:kill').withCommand(['sh', '-c', SERVER]).withEnvironment({ VALUE: value, BIG: '300' })
        .withWaitStrategy(Wait.forLogMessage('serving')).withInitSnapshot({ paths: ['/state'] }).start({ runtime: rt2 });
      expect(c.initSnapshot).toMatchObject({ key, source: 'initialised', kept: true });
      expect(tmpOf()).toEqual([]);
      await c.remove();
      for (const i of rt2.images()) await rt2.rmi(i.id, { force: true });
      await rt2.prune();
    } finally {
      await rt2.close();
    }
  }, 240_000);

  it('image prune deletes snapshots, except one a live container runs on; a size cap evicts the least recently used', async () => {
    const running = await start(server(`prune-live-${Date.now()}`));
    const idle = await start(server(`prune-idle-${Date.now()}`));
    await idle.remove();
    const { snapshots } = await rt.prune();
    expect(snapshots).toContain(idle.initSnapshot!.key);
    expect(snapshots).not.toContain(running.initSnapshot!.key);
    expect(keyDirs()).toEqual([running.initSnapshot!.key]);
    await running.remove();
    expect((await rt.prune()).snapshots).toEqual([running.initSnapshot!.key]);
    // a cap of 1 MB: each snapshot here holds 2 MB, so making one evicts the others
    process.env.MAYFLY_SNAPSHOT_CACHE_SIZE = '1m';
    try {
      const a = await start(server('cap-a').withEnvironment({ BIG: '2' }));
      await a.remove();
      const b = await start(server('cap-b').withEnvironment({ BIG: '2' }));
      await b.remove();
      expect(keyDirs()).toEqual([b.initSnapshot!.key]);
    } finally {
      delete process.env.MAYFLY_SNAPSHOT_CACHE_SIZE;
    }
  }, 180_000);

  it('initialise runs once, before the snapshot; run starts later containers differently; bad settings are refused up front', async () => {
    const value = `hooks-${Date.now()}`;
    let calls = 0;
    const b = () =>
      server(value).withInitSnapshot({
        paths: ['/state'],
        key: 'seed-v1',
        initialise: async (c) => {
          calls++;
          await c.exec('echo seeded > /state/seed');
        },
        run: { command: ['sh', '-c', `echo direct; ${SERVER}`] },
      });
    const first = await start(b());
    expect(calls).toBe(1);
    expect((await first.exec('cat /state/seed')).stdout).toBe('seeded\n');
    expect(await first.output()).toContain('direct');
    await first.remove();
    const second = await start(b());
    expect(calls).toBe(1);
    expect((await second.exec('cat /state/seed')).stdout).toBe('seeded\n');
    await second.remove();
    // snapshots disabled: initialise runs on every start
    const plain = await start(b().withInitSnapshot({ paths: ['/state'], enabled: false, initialise: async () => void calls++ }));
    expect(calls).toBe(2);
    expect(plain.initSnapshot).toBeUndefined();
    await plain.remove();
    const e = await caught(container().withLayers(BUSYBOX).withCommand(['true']).withReuse().withInitSnapshot({ paths: ['/a', '/a/b'] }).start({ runtime: rt }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toMatch(/initSnapshot: an initialised-data snapshot belongs to an image/);
    expect(e.message).toMatch(/initSnapshot: a reused container keeps its state already/);
    expect(e.message).toMatch(/initSnapshot\.paths: state paths must not lie inside one another/);
  }, 120_000);

  it.skipIf(!isRoot)('a full disk while the snapshot is written: the start still succeeds without one, and says why once (root: a 2 MB tmpfs as the store)', async () => {
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'snap-full-home-'));
    tmpRoots.push(home);
    mkdirSync(join(home, 'snapshots'));
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', join(home, 'snapshots')]);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const rt2 = await Runtime.start({ home, onWarning: () => {} });
    try {
      await rt2.importRootfs(BUSYBOX, 'snaptest:full');
      const b = () => container('snaptest:full').withCommand(['sh', '-c', SERVER]).withEnvironment({ VALUE: 'full', BIG: '8' }).withWaitStrategy(Wait.forLogMessage('serving')).withInitSnapshot({ paths: ['/state'] });
      const c = await b().start({ runtime: rt2 });
      expect(c.initSnapshot).toMatchObject({ source: 'initialised', kept: false });
      expect(c.initSnapshot?.reason).toMatch(/no space left on device/);
      expect((await c.exec('cat /state/value')).stdout).toBe('full\n');
      const again = await b().start({ runtime: rt2 });
      expect(again.initSnapshot?.reason).toMatch(/no space left on device/);
      await Promise.all([c.remove(), again.remove()]);
      expect(readdirSync(join(home, 'snapshots')).filter((n) => n !== 'locks')).toEqual([]);
      for (const i of rt2.images()) await rt2.rmi(i.id, { force: true });
      await rt2.prune();
    } finally {
      process.off('warning', onWarning);
      await rt2.close();
      execFileSync('umount', [join(home, 'snapshots')]);
    }
    expect(warnings.filter((w) => w.includes('no space left on device'))).toHaveLength(1);
  }, 120_000);
});

/** Bytes a directory takes on disk (what `du -s` says), the test process's view. */
function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      try {
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) total += readFileSync(p).length;
      } catch {
        // not ours to read (a file of a subordinate id): the data under test is not among them
      }
    }
  };
  walk(dir);
  return total;
}
