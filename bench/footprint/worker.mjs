// One test worker for bench/footprint.mjs: holds one running busybox `sleep` container until told to go.
//   node worker.mjs mayfly ROOTFS   |   node worker.mjs testcontainers IMAGE
const [kind, arg] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${line}\n`);
if (kind === 'mayfly') {
  const { Runtime } = await import('../../dist/engine/runtime.js');
  const rt = await Runtime.start({ onWarning: () => {} });
  const c = await rt.run({ layers: [arg], command: ['sleep', '1000'] });
  say(`ready ${c.id}`);
  process.stdin.once('data', async () => {
    await rt.close();
    process.exit(0);
  });
} else {
  const { GenericContainer } = await import('testcontainers');
  const c = await new GenericContainer(arg).withCommand(['sleep', '1000']).start();
  say(`ready ${c.getId()}`);
  process.stdin.once('data', async () => {
    await c.stop({ timeout: 0 });
    process.exit(0);
  });
}
