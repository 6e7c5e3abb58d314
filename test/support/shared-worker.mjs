// A test worker of the shared-sandbox tests: a Runtime on the home's shared sandbox holding one
// container (`sleep MARKER`); says what it holds as a JSON line, then answers `exec` and `run`
// lines (the error's code when the sandbox is gone) until it is killed.
//   node shared-worker.mjs ROOTFS MARKER
import { createInterface } from 'node:readline';
import { Runtime } from '../../dist/engine/runtime.js';

const [rootfs, marker] = process.argv.slice(2);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const rt = await Runtime.start({ shared: true, onWarning: () => {} });
const c = await rt.run({ layers: [rootfs], command: ['sleep', marker], ports: [{ containerPort: 80 }] });
say({ dir: c.dir, sandbox: rt.sandbox.processId(), sandboxId: rt.sandbox.id, shared: rt.sandbox.shared, ports: c.ports().map((p) => p.hostPort) });
const exitCode = c.wait().then((e) => e.exitCode);
createInterface({ input: process.stdin }).on('line', async (line) => {
  try {
    if (line === 'exec') say({ out: (await c.exec(['echo', 'alive'])).stdout.trim() });
    else if (line === 'wait') say({ exitCode: await exitCode });
    else if (line === 'close') {
      await rt.close();
      say({ closed: true });
    }
  } catch (e) {
    say({ error: e.code ?? String(e) });
  }
});
setInterval(() => {}, 1 << 30);
