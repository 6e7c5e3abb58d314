// Run inside a CI job's container by job-container.test.ts: what a user of mayfly does first there —
// `mayfly doctor`, `mayfly run`, a container with a published port through the API, a container on
// a network reaching the job's loopback (where doctor says outbound access works), and (given an
// image archive whose files belong to other users) a load and a run — and prints what happened as
// one JSON line after "SMOKE ", for the test outside to judge. Uses the built dist/.
//   node test/job-container/smoke.mjs [--doctor-only] [ARCHIVE]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');
const bin = join(repo, 'bin/mayfly.js');
const doctorOnly = process.argv.includes('--doctor-only');
const archive = process.argv.slice(2).find((a) => !a.startsWith('--'));
const work = mkdtempSync(join(tmpdir(), 'mayfly-smoke-'));
const out = { uid: process.getuid(), warnings: [] };

function mayfly(...args) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

try {
  const doctor = mayfly('doctor', '--json');
  let findings;
  try {
    findings = JSON.parse(doctor.stdout);
  } catch {
    findings = undefined;
  }
  out.doctor = { code: doctor.code, findings, stderr: doctor.stderr };
  if (doctorOnly) throw 'done';

  const { busyboxRootfs } = await import(join(repo, 'dist/runtime/busybox-rootfs.js'));
  const rootfs = busyboxRootfs(join(work, 'busybox'));
  out.cli = mayfly('run', '--rm', '--rootfs', rootfs, '--', 'cat', '/etc/hostname');

  if (out.doctor.findings?.find((f) => f.name === 'sandbox')?.level === 'ok') {
    const { Runtime } = await import(join(repo, 'dist/engine/runtime.js'));
    const rt = await Runtime.start({ onWarning: (m) => out.warnings.push(m) });
    try {
      const t0 = performance.now();
      const web = await rt.run({
        layers: [rootfs],
        command: ['sh', '-c', 'mkdir -p /www && echo published > /www/index.html && exec httpd -f -p 80 -h /www'],
        ports: [{ containerPort: 80 }],
      });
      let body = '';
      for (let i = 0; i < 200 && !body; i++) body = await fetch(web.url(80)).then((r) => r.text(), () => new Promise((r) => setTimeout(() => r(''), 20)));
      out.published = { body: body.trim(), ms: Math.round(performance.now() - t0) };
      await web.remove({ force: true });
      if (out.doctor.findings.find((f) => f.name === 'outbound access')?.level === 'ok') out.outbound = await outbound(rt, rootfs);
      if (archive) {
        // files of other owners (redis's): kept as ours where only one id is mapped, said once
        const [image] = await rt.load(archive);
        const c = await rt.run({ image: image.id, entrypoint: ['sh', '-c', 'stat -c %u /data'], user: 'root' });
        const logs = [];
        const { exitCode } = await c.wait();
        for (const l of await c.logs()) logs.push(l.line);
        await c.remove();
        out.load = { exitCode, owner: logs.join('\n').trim() };
      }
    } catch (e) {
      out.error = { message: e?.message, code: e?.code, hint: e?.hint };
    } finally {
      await rt.close();
    }
  }
} catch (e) {
  if (e !== 'done') out.error = { message: e?.message, stack: e?.stack };
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`SMOKE ${JSON.stringify(out)}\n`);

/** A container on a network fetches from a server on the job's loopback, opened to it by name with host-gateway (`--add-host job-host:host-gateway`; closed by default). */
async function outbound(rt, rootfs) {
  const { createServer } = await import('node:http');
  const server = createServer((_q, res) => res.end('from the job\n'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const net = `smoke-${process.pid}`;
  rt.createNetwork(net);
  try {
    const c = await rt.run({
      layers: [rootfs],
      network: net,
      extraHosts: [{ name: 'job-host', ip: 'host-gateway' }],
      command: ['wget', '-q', '-O', '-', `http://job-host:${server.address().port}/`],
    });
    const { exitCode } = await c.wait();
    const body = (await c.logs()).map((l) => l.line).join('\n');
    await c.remove();
    return { exitCode, body };
  } finally {
    rt.removeNetwork(net);
    server.close();
  }
}
