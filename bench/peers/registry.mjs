// The bench's local registry: Debian's `docker-registry` (Docker Distribution 2.8) on a free loopback
// port, its data in a directory of the run, stopped (and waited for) by stop().
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import getPort from 'get-port';

export async function startRegistry(dir) {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const port = await getPort({ host: '127.0.0.1' });
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    if (await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false)) break;
    if (i > 400) throw new Error(`docker-registry did not answer on ${host}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    host,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}
