import { PortForwarder } from './dist/network/port-forwarder.js';
import { spawn } from 'node:child_process';
// a process in a new net ns (we are root in a userns here) running busybox httpd
const child = spawn('unshare', ['--net', '--', 'sh', '-c', 'ip link set lo up; echo hi > /tmp/fw.html; exec busybox httpd -f -p 8080 -h /tmp'], { stdio: 'inherit' });
await new Promise((r) => setTimeout(r, 500));
const { readFileSync } = await import('node:fs');
const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0] || child.pid);
console.log('target pid', pid, 'child', child.pid);
const f = new PortForwarder();
const ports = await f.start(child.pid, [{ containerPort: 8080, hostPort: 0, hostIp: '127.0.0.1', protocol: 'tcp' }]);
console.log(ports);
try { const r = await fetch(`http://127.0.0.1:${ports[0].hostPort}/fw.html`); console.log('status', r.status, await r.text()); } catch (e) { console.log('fetch error', e.cause?.message ?? e.message); }
f.close(); child.kill();
