// The demo: a throwaway web server in a rootless container, answering on the host, then gone.
import { join } from 'node:path';
import getPort from 'get-port';
import { busyboxRootfs } from '../dist/fixtures/busybox-rootfs.js';
import { mayflyHome } from '../dist/paths.js';
import { Runtime } from '../dist/runtime/runtime.js';

const started = performance.now();
const runtime = await Runtime.start();
const port = await getPort({ host: '127.0.0.1' });
const web = await runtime.run({
  layers: [busyboxRootfs(join(mayflyHome(), 'fixtures/busybox'))], // images arrive with `mayfly pull`
  command: ['sh', '-c', `echo "<h1>hello from a rootless mayfly container ($(hostname))</h1>" > /www/index.html && exec httpd -f -v -p 127.0.0.1:${port} -h /www`],
  network: 'host', // published ports (-P) arrive with the networking work
  tmpfs: [{ path: '/www', size: '1m' }],
  user: 'root',
  hostname: 'demo',
});
let body = '';
for (let i = 0; i < 100 && !body; i++) {
  body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
  if (!body) await new Promise((r) => setTimeout(r, 20));
}
console.log(`container ${web.name} answered on http://127.0.0.1:${port}/ in ${Math.round(performance.now() - started)} ms:`);
console.log(`  ${body.trim()}`);
const { stdout } = await web.exec(['ps', '-o', 'pid,user,comm']);
console.log('its processes (the host is invisible from inside):');
console.log(stdout.replace(/^/gm, '  ').trimEnd());
await web.remove({ force: true });
await runtime.close();
console.log('removed: no process, mount or directory of it is left');
