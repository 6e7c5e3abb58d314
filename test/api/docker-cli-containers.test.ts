/**
 * Debian's `docker` CLI, unmodified, running containers on mayfly: run -d with -p and -P, ps,
 * logs, exec, inspect, stop/start, network connect by alias, rm -f.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { docker, dockerEnv, dockerOk } from './docker-clients.js';

const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
const tag = `${process.pid}`;
const IMAGE = `${REGISTRY}/api-run/busybox:${tag}`;
const SERVER = ['sh', '-c', 'echo serving; mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 80 -h /www'];

beforeAll(async () => {
  await dockerEnv();
  await pushImage(`http://${REGISTRY}`, 'api-run/busybox', tag, [await tarOfDir(BUSYBOX)], { Cmd: ['sh'], Env: ['PATH=/bin'], ExposedPorts: { '80/tcp': {} } });
  await dockerOk('pull', '-q', IMAGE);
}, 120_000);

async function get(url: string): Promise<string> {
  let body = '';
  await until(async () => {
    try {
      body = await (await fetch(url)).text();
      return true;
    } catch {
      return false;
    }
  }, 10_000, `${url} to answer`);
  return body;
}

describe('docker run / ps / logs / exec / inspect / stop / start / rm', () => {
  it('runs a server published with -p and -P, drives it by name', async () => {
    const web = `api-run-web-${tag}`;
    const all = `api-run-all-${tag}`;
    try {
      const id = (await dockerOk('run', '-d', '--name', web, '-p', '127.0.0.1::80', '--label', `test.run=${tag}`, IMAGE, ...SERVER)).trim();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      await dockerOk('run', '-d', '--name', all, '-P', IMAGE, ...SERVER);

      const port = (await dockerOk('port', web, '80')).trim();
      expect(port).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(await get(`http://${port}/`)).toBe(`${id.slice(0, 12)}\n`);
      const published = (await dockerOk('port', all, '80/tcp')).trim().split('\n')[0]!;
      expect(await get(`http://${published.replace('0.0.0.0', '127.0.0.1')}/`)).toMatch(/^[0-9a-f]{12}\n$/);

      const ps = await dockerOk('ps', '--filter', `label=test.run=${tag}`, '--format', '{{.Names}} {{.Status}} {{.Image}}');
      expect(ps).toMatch(new RegExp(`^${web} Up .+ ${IMAGE}\\n$`));
      await until(async () => (await dockerOk('logs', web)) === 'serving\n', 5000, 'the log line');
      expect(await dockerOk('exec', web, 'cat', '/www/index.html')).toBe(`${id.slice(0, 12)}\n`);
      const failed = await docker('exec', web, 'sh', '-c', 'echo oops >&2; exit 4');
      expect([failed.status, failed.stderr]).toEqual([4, 'oops\n']);

      const [doc] = JSON.parse(await dockerOk('inspect', web)) as { Id: string; Name: string; State: { Running: boolean }; Config: { Image: string } }[];
      expect(doc).toMatchObject({ Id: id, Name: `/${web}`, State: { Running: true }, Config: { Image: IMAGE } });

      await dockerOk('stop', '-t', '1', web);
      expect(await dockerOk('inspect', '-f', '{{.State.Running}}', web)).toBe('false\n');
      expect(await dockerOk('ps', '-q', '--filter', `label=test.run=${tag}`)).toBe('');
      await dockerOk('start', web);
      expect(await dockerOk('inspect', '-f', '{{.State.Running}}', web)).toBe('true\n');
    } finally {
      await docker('rm', '-f', web, all);
    }
    expect(await dockerOk('ps', '-aq', '--filter', `name=${web}`)).toBe('');
  });

  it('connects a running container to a network, where the other one finds it by alias', async () => {
    const net = `api-run-net-${tag}`;
    const [a, b] = [`api-run-a-${tag}`, `api-run-b-${tag}`];
    await dockerOk('network', 'create', net);
    try {
      await dockerOk('run', '-d', '--name', a, IMAGE, ...SERVER);
      await dockerOk('run', '-d', '--name', b, '--network', net, IMAGE, 'sleep', '300');
      await dockerOk('network', 'connect', '--alias', 'web', net, a);
      let got = '';
      await until(async () => (got = (await docker('exec', b, 'wget', '-qO-', 'http://web/')).stdout) !== '', 10_000, 'the alias to answer');
      expect(got).toMatch(/^[0-9a-f]{12}\n$/);
      const members = await dockerOk('network', 'inspect', '-f', '{{range .Containers}}{{.Name}} {{end}}', net);
      expect(members.trim().split(' ').sort()).toEqual([a, b].sort());
      await dockerOk('network', 'disconnect', net, a);
      expect((await docker('exec', b, 'wget', '-T', '2', '-qO-', 'http://web/')).status).not.toBe(0);
    } finally {
      await docker('rm', '-f', a, b);
      await docker('network', 'rm', net);
    }
  });
});
