// Container start where this process runs — on the host, or inside a CI job's container (started
// there by bench/job-container.mjs, which keeps one of these per place alive and asks each in turn,
// so that every place is measured under the same load of a shared machine). Reads one request a
// line on stdin and answers with the milliseconds it took:
//   warm    busybox `true`, start() → exited, with a warm sandbox and shim
//   debian  the Debian base (one 170 MB layer) `true`, create + start → exited (a copy driver copies at create)
//   cold    a new sandbox: Runtime.start() + run busybox `true` → exited (a test file's first container)
//   info    the rootfs driver, how /proc is given, the id mapping (JSON)
//   node bench/scenarios/job-start.mjs [DEBIAN_ARCHIVE]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const repo = resolve(import.meta.dirname, '../..');
const { Runtime } = await import(join(repo, 'dist/engine/runtime.js'));
const { busyboxRootfs } = await import(join(repo, 'dist/runtime/busybox-rootfs.js'));

const debianArchive = process.argv[2];
const work = mkdtempSync(join(tmpdir(), 'mayfly-job-start-'));
const rootfs = busyboxRootfs(join(work, 'busybox'));
const rt = await Runtime.start({ onWarning: () => {} });
const debian = debianArchive ? (await rt.load(debianArchive))[0].id : undefined;

const requests = {
  async warm() {
    const c = await rt.create({ layers: [rootfs], command: ['true'] });
    const t0 = performance.now();
    await c.start();
    await c.wait();
    const t = performance.now() - t0;
    await c.remove();
    return t;
  },
  async debian() {
    if (!debian) return -1;
    const t0 = performance.now();
    const c = await rt.create({ image: debian, command: ['true'] });
    await c.start();
    await c.wait();
    const t = performance.now() - t0;
    await c.remove();
    return t;
  },
  async cold() {
    const t0 = performance.now();
    const r = await Runtime.start({ onWarning: () => {} });
    const c = await r.run({ layers: [rootfs], command: ['true'] });
    await c.wait();
    const t = performance.now() - t0;
    await c.remove();
    await r.close();
    return t;
  },
  async info() {
    return { rootfsDriver: rt.info.rootfsDriver, proc: rt.info.proc.mode, idMapping: rt.info.idMapping.single ? 'one id' : `${rt.info.idMapping.uids.at(-1).count} ids` };
  },
};

process.stdout.write('READY\n');
for await (const line of createInterface({ input: process.stdin })) {
  const ask = requests[line.trim()];
  if (!ask) break;
  process.stdout.write(`${JSON.stringify(await ask())}\n`);
}
await rt.close();
rmSync(work, { recursive: true, force: true });
