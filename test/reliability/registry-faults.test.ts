/**
 * A registry that misbehaves (test/support/fault-proxy.ts in front of the run's real one): dropped
 * connections are resumed, 500 and 429 retried, a corrupt or short blob fetched once more and then
 * refused — and whatever happens, nothing corrupt or half-written stays in the store, and the next
 * pull works.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalImages } from '../../src/engine/images.js';
import { ImageStore } from '../../src/image/store/image-store.js';
import { startFaultProxy, type Fault, type FaultProxy } from '../support/fault-proxy.js';
import { pushImage } from '../support/images.js';
import { tarOf } from '../support/registry.js';
import { record } from '../support/reliability-log.js';
import { caught } from '../support/runtime.js';
import { Runtime } from '../../src/engine/runtime.js';

const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
// a store of its own: its checks take the store lock and read every entry, undisturbed by other test files
const base = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'faults-'));
const home = join(base, 'home');
let rt: Runtime;
let proxy: FaultProxy;
const runtime = () => rt;
const store = () => new ImageStore(home);

beforeAll(async () => {
  proxy = await startFaultProxy(REGISTRY);
  rt = await Runtime.start({ home, onWarning: () => {} });
});
afterAll(async () => {
  await proxy.close();
  for (const image of rt.images()) await rt.rmi(image.id, { force: true });
  await rt.prune();
  await rt.close();
  rmSync(base, { recursive: true, force: true });
});

/** A fresh image (new blobs every time: nothing of it is in the store yet), pushed to the real registry; its name through the proxy. */
async function freshImage(): Promise<string> {
  const seed = randomBytes(6).toString('hex');
  await pushImage(`http://${REGISTRY}`, `faults/${seed}`, 'v1', [tarOf({ 'etc/seed': seed }), tarOf({ [`data/${seed}.bin`]: randomBytes(200_000) })]);
  return `${proxy.host}/faults/${seed}:v1`;
}

/** Nothing half-written: no partial blob or layer, every blob its digest, every record whole. */
async function expectStoreWhole(): Promise<void> {
  const s = store();
  for (const dir of [s.blobsDir, s.layersDir]) expect(readdirSync(dir).filter((f) => !/^[0-9a-f]{64}$/.test(f))).toEqual([]);
  const report = await new LocalImages(s).check();
  expect(report.problems).toEqual([]);
}

async function pullWith(faults: Fault[]): Promise<{ ref: string; error?: unknown }> {
  const ref = await freshImage();
  proxy.queue = [...faults];
  try {
    await runtime().pull(ref);
    return { ref };
  } catch (error) {
    return { ref, error };
  } finally {
    for (const f of faults.slice(0, faults.length - proxy.queue.length)) record('fault', `registry: ${f}`);
    proxy.queue = [];
  }
}

describe('a registry that misbehaves', () => {
  it.each<[string, Fault[]]>([
    ['answers 500, then serves', ['status-500', 'status-500']],
    ['answers 429 (Retry-After: 0), then serves', ['status-429']],
    ['sends a blob with altered bytes once', ['wrong-bytes']],
    ['sends a short blob once', ['truncate']],
  ])('%s: the pull succeeds, the store is whole', async (_what, faults) => {
    const { ref, error } = await pullWith(faults);
    expect(error).toBeUndefined();
    expect(proxy.injected.length).toBeGreaterThan(0);
    expect(store().find(ref)).toBeDefined();
    await expectStoreWhole();
  });

  it('drops the connection mid-blob: the download resumes where it stopped (Range), the pull succeeds', async () => {
    proxy.ranges = [];
    const { ref, error } = await pullWith(['drop-mid-body']);
    expect(error).toBeUndefined();
    expect(store().find(ref)).toBeDefined();
    expect(proxy.ranges.length).toBe(1);
    expect(proxy.ranges[0]!.status).toBe(206);
    await expectStoreWhole();
  });

  it('keeps sending corrupt blobs: the pull fails with DIGEST_MISMATCH, nothing of it is kept, and the next pull works', async () => {
    const { ref, error } = await pullWith(Array<Fault>(20).fill('wrong-bytes'));
    expect((error as { code?: string }).code).toBe('DIGEST_MISMATCH');
    expect((error as Error).message).toMatch(/sent blob sha256:[0-9a-f]{64} of faults\/\w+ with digest sha256:/);
    expect(store().find(ref)).toBeUndefined();
    await expectStoreWhole();
    await runtime().pull(ref);
    expect(store().find(ref)).toBeDefined();
  });

  it('keeps answering 500: the pull fails naming the registry, and nothing is kept', async () => {
    const { ref, error } = await pullWith(Array<Fault>(20).fill('status-500'));
    const e = error as { code?: string; message: string };
    expect(e.code).toMatch(/REGISTRY_ERROR|REGISTRY_UNREACHABLE/);
    expect(e.message).toContain(proxy.host);
    expect(store().find(ref)).toBeUndefined();
    await expectStoreWhole();
  });

  it('a blob the registry does not have: a clear error naming it', async () => {
    const e = await caught(runtime().pull(`${proxy.host}/faults/never-pushed:v1`));
    expect(e.code).toBe('IMAGE_NOT_FOUND');
    expect(existsSync(join(store().blobsDir))).toBe(true);
    await expectStoreWhole();
  });
});
