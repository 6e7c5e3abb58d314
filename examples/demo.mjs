// The demo: a throwaway web server in a rootless container, answering on the host, then gone.
import { join } from 'node:path';
import { busyboxRootfs } from '../dist/fixtures/busybox-rootfs.js';
import { mayflyHome } from '../dist/paths.js';
import { Runtime } from '../dist/runtime/runtime.js';

const started = performance.now();
const runtime = await Runtime.start();
const web = await runtime.run({
  layers: [busyboxRootfs(join(mayflyHome(), 'fixtures/busybox'))], // images arrive with `mayfly pull`
  command: ['sh', '-c', 'echo "<h1>hello from a rootless mayfly container ($(hostname))</h1>" > /www/index.html && exec httpd -f -v -p 80 -h /www'],
  ports: [{ containerPort: 80 }], // a free host port, like docker run -p 80
  tmpfs: [{ path: '/www', size: '1m' }],
  user: 'root',
  hostname: 'demo',
});
let body = '';
for (let i = 0; i < 100 && !body; i++) {
  body = await fetch(web.url(80)).then((r) => r.text(), () => '');
  if (!body) await new Promise((r) => setTimeout(r, 20));
}
console.log(`container ${web.name} (port 80 inside) answered on ${web.url(80)} in ${Math.round(performance.now() - started)} ms:`);
console.log(`  ${body.trim()}`);
const { stdout } = await web.exec(['ps', '-o', 'pid,user,comm']);
console.log('its processes (the host is invisible from inside):');
console.log(stdout.replace(/^/gm, '  ').trimEnd());
await web.remove({ force: true });
await runtime.close();
console.log('removed: no process, mount or directory of it is left');
