// An owner process for the cleanup tests: starts containers, reports them, then waits to be killed.
import { Runtime } from '../../dist/engine/runtime.js';

const [rootfs, count, marker] = process.argv.slice(2);
const rt = await Runtime.start();
const containers = [];
for (let i = 0; i < Number(count); i++) {
  const c = await rt.create({ layers: [rootfs], command: ['sleep', marker], tmpfs: [{ path: '/data' }] });
  await c.start();
  containers.push(c.dir);
}
process.stdout.write(`${JSON.stringify({ dirs: containers, sandbox: rt.sandbox.processId() })}\n`);
setInterval(() => {}, 1 << 30);
