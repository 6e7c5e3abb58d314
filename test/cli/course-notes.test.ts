/**
 * The course notes' command lines, typed as they are written there with `mayfly` for `docker` (the
 * README's CLI walk-through runs the same): an nginx published on a host port, ps -aq, logs, exec,
 * inspect --format, stop -t=0, start, container ls -a, stats --no-stream, commit, --rm=false,
 * network create --driver bridge, a container reaching another by name, rm -f $(ps -aq). In a
 * MAYFLY_HOME of its own: `rm -f $(mayfly ps -aq)` removes every container there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import getPort from 'get-port';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePresetImages } from '../support/preset-images.js';
import { until } from '../support/runtime.js';
import { mayfly as run } from './cli.js';

usePresetImages(); // nginx through the docker.io mirror, as a user with Docker Hub gets it

let home: string;
const env = () => ({ MAYFLY_HOME: home });
const mayfly = (...args: string[]) => run(args, { env: env(), timeoutMs: 120_000 });
const ok = async (...args: string[]) => {
  const r = await mayfly(...args);
  if (r.status !== 0) throw new Error(`mayfly ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(() => {
  home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'course-notes-'));
});
afterAll(async () => {
  // images hold files of subordinate ids when rootless: emptied through mayfly, then the home goes
  // (and with it the keeper, which removes what it still holds)
  for (const id of (await mayfly('images', '-q')).stdout.split('\n').filter(Boolean)) await mayfly('rmi', '-f', id);
  await mayfly('image', 'prune', '-f');
  spawnSync('rm', ['-rf', home]);
});

describe('the course notes, typed as written', () => {
  it('web server, ps, logs, exec, inspect, stop/start, stats, commit, networks, rm -f $(ps -aq)', async () => {
    const port = await getPort();
    // docker run -d -p 8080:80 --name web nginx
    const id = (await ok('run', '-d', '-p', `${port}:80`, '--name', 'web', 'nginx')).trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    let page = '';
    await until(async () => (page = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '')).includes('Welcome to nginx!'), 30_000, 'nginx to answer');
    // docker ps / docker ps -aq / docker container ls -a
    expect(await ok('ps')).toMatch(new RegExp(`^${id.slice(0, 12)}\\s+nginx\\s+"/docker-entrypoint\\.…"\\s+.+ ago\\s+Up .+\\s+127\\.0\\.0\\.1:${port}->80/tcp\\s+web$`, 'm'));
    expect(await ok('ps', '-aq')).toBe(`${id.slice(0, 12)}\n`);
    expect(await ok('container', 'ls', '-a', '--format', '{{.Names}}\t{{.Image}}\t{{.State}}')).toBe('web\tnginx\trunning\n');
    // docker logs web; docker exec web ls /usr/share/nginx/html
    await until(async () => (await ok('logs', 'web')).includes('GET / HTTP/1.1'), 10_000, 'the access log line');
    expect(await ok('exec', 'web', 'ls', '/usr/share/nginx/html')).toBe('50x.html\nindex.html\n');
    // docker inspect web --format '{{.NetworkSettings.IPAddress}}'
    expect(await ok('inspect', 'web', '--format', '{{.NetworkSettings.IPAddress}}')).toMatch(/^172\.17\.0\.\d+\n$/);
    expect(await ok('inspect', '--format', '{{.State.Running}} {{.Config.Image}} {{json .Config.ExposedPorts}}', 'web')).toBe('true nginx {"80/tcp":{}}\n');
    // docker stats --no-stream
    expect(await ok('stats', '--no-stream')).toMatch(new RegExp(`^CONTAINER ID\\s+NAME\\s+CPU TIME\\s+MEM USAGE / LIMIT\\s+PIDS\\n${id.slice(0, 12)}\\s+web\\s+[\\d.]+s\\s+[\\d.]+MiB / `));
    // docker stop -t=0 web; docker start web
    expect(await ok('stop', '-t=0', 'web')).toBe('web\n');
    expect(await ok('ps', '-a', '--format', '{{.Status}}')).toMatch(/^Exited \(\d+\) .+ ago\n$/);
    expect(await ok('start', 'web')).toBe('web\n');
    await until(async () => (await fetch(`http://127.0.0.1:${port}/`).then((r) => r.status, () => 0)) === 200, 30_000, 'nginx to answer again');
    // docker exec web sh -c '…'; docker commit web my-nginx:v2
    await ok('exec', 'web', 'sh', '-c', 'echo "<h1>changed</h1>" > /usr/share/nginx/html/index.html');
    expect(await ok('commit', 'web', 'my-nginx:v2')).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(await ok('images', '--format', '{{.Repository}}:{{.Tag}}')).toContain('my-nginx:v2\n');
    // docker run --rm=false --name v2 my-nginx:v2 cat …: kept afterwards, as without --rm
    expect(await ok('run', '--rm=false', '--name', 'v2', 'my-nginx:v2', 'cat', '/usr/share/nginx/html/index.html')).toBe('<h1>changed</h1>\n');
    expect(await ok('ps', '-a', '--filter', 'name=v2', '--format', '{{.Names}} {{.State}}')).toBe('v2 exited\n');
    // docker network create --driver bridge minha-bridge; a container reaches another by name on it
    await ok('network', 'create', '--driver', 'bridge', 'minha-bridge');
    await ok('run', '-d', '--name', 'pong', '--network', 'minha-bridge', 'nginx');
    let answer = '';
    const probe = 'exec 3<>/dev/tcp/pong/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3';
    await until(async () => (answer = (await mayfly('run', '--rm', '--network', 'minha-bridge', 'nginx', 'bash', '-c', probe)).stdout).includes('Welcome to nginx!'), 30_000, 'pong to answer by name');
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    // docker rm -f $(docker ps -aq)
    const all = (await ok('ps', '-aq')).split('\n').filter(Boolean);
    expect(all).toHaveLength(3);
    expect((await ok('rm', '-f', ...all)).split('\n').filter(Boolean)).toEqual(all);
    expect(await ok('ps', '-aq')).toBe('');
    await ok('network', 'rm', 'minha-bridge');
  }, 240_000);
});
