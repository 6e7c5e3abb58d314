/**
 * The verbs a Docker user types beyond run/ps: commit (with --change), cp (both ways, and tar
 * streams), --mount (bind, volume, tmpfs; anonymous volumes and rm -v), network connect and
 * disconnect, Docker's default bridge network, search.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { c as tarCreate, t as tarList } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundSupport } from '../../src/network/outbound.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { mayfly, ok } from './cli.js';

const tag = `${process.pid}`;
const BASE = `cli-verbs/base:${tag}`;
let scratch: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'cli-verbs-'));
  await ok(['import', BUSYBOX, BASE]);
});
afterAll(async () => {
  await mayfly(['rmi', '-f', BASE]);
});

describe('commit', () => {
  it("a container's changes as an image, with --change, -m and -a; a wrong change is named", async () => {
    const name = `commit-src-${tag}`;
    const image = `cli-verbs/committed:${tag}`;
    await ok(['run', '-d', '--name', name, '-e', 'KEPT=yes', BASE, 'sh', '-c', 'echo hello from the layer > /greeting; exec sleep 300']);
    try {
      await until(async () => (await mayfly(['exec', name, 'cat', '/greeting'])).stdout === 'hello from the layer\n', 10_000, 'the file');
      const bad = await mayfly(['commit', '-c', 'RUN rm -rf /', name, image]);
      expect([bad.status, bad.stderr]).toEqual([125, expect.stringContaining('invalid value "RUN rm -rf /" for -c, --change: RUN cannot be changed by commit')]);
      const id = (await ok(['commit', '-c', 'CMD ["cat", "/greeting"]', '--change', 'ENV MODE=committed', '-c', 'EXPOSE 8080', '-m', 'the greeting', '-a', 'Ana <ana@example.com>', name, image])).trim();
      expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
      // the container went on running (paused meanwhile, unpaused after)
      expect(await ok(['inspect', '-f', '{{.State.Status}}', name])).toBe('running\n');
      expect((await mayfly(['run', '--rm', image])).stdout).toBe('hello from the layer\n');
      expect(await ok(['run', '--rm', image, 'sh', '-c', 'echo $KEPT $MODE'])).toBe('yes committed\n');
      expect(await ok(['image', 'inspect', '--format', '{{json .Config.ExposedPorts}} {{json .Config.Cmd}}', image])).toBe('{"8080/tcp":{}} ["cat","/greeting"]\n');
      expect(await ok(['history', '--no-trunc', image])).toContain('the greeting');
      // a stopped container commits too
      await ok(['stop', '-t', '0', name]);
      const again = `cli-verbs/stopped:${tag}`;
      await ok(['commit', name, again]);
      expect(await ok(['run', '--rm', again, 'cat', '/greeting'])).toBe('hello from the layer\n');
      await ok(['rmi', again]);
    } finally {
      await mayfly(['rm', '-f', name]);
      await mayfly(['rmi', '-f', image]);
    }
  }, 90_000);
});

describe('cp', () => {
  it("both ways, with Docker's naming rules, and tar streams on stdin and stdout", async () => {
    const name = `cp-${tag}`;
    await ok(['run', '-d', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'mkdir -p /srv/out && echo inside > /srv/out/file.txt && exec sleep 300']);
    try {
      const local = join(scratch, 'cp');
      mkdirSync(join(local, 'dir/sub'), { recursive: true });
      writeFileSync(join(local, 'a.txt'), 'from the host\n');
      writeFileSync(join(local, 'dir/sub/b.txt'), 'nested\n');
      // into an existing directory: keeps its name; to a new path: takes that name
      await ok(['cp', join(local, 'a.txt'), `${name}:/tmp`]);
      await ok(['cp', join(local, 'a.txt'), `${name}:/tmp/renamed.txt`]);
      await ok(['container', 'cp', join(local, 'dir'), `${name}:/srv`]);
      await ok(['cp', `${join(local, 'dir')}/.`, `${name}:/contents`]);
      expect(await ok(['exec', name, 'sh', '-c', 'cat /tmp/a.txt /tmp/renamed.txt /srv/dir/sub/b.txt /contents/sub/b.txt'])).toBe('from the host\nfrom the host\nnested\nnested\n');
      // out: a file, a directory into a new name, the contents of one
      const out = join(scratch, 'cp-out');
      mkdirSync(out);
      await ok(['cp', `${name}:/srv/out/file.txt`, out]);
      await ok(['cp', `${name}:/srv/out`, join(out, 'copy')]);
      await ok(['cp', `${name}:/srv/dir/.`, join(out, 'flat')]);
      expect(readFileSync(join(out, 'file.txt'), 'utf8')).toBe('inside\n');
      expect(readFileSync(join(out, 'copy/file.txt'), 'utf8')).toBe('inside\n');
      expect(readFileSync(join(out, 'flat/sub/b.txt'), 'utf8')).toBe('nested\n');
      // `-`: a tar on stdout, and one from stdin
      const stream = await mayfly(['cp', `${name}:/srv/out`, '-']);
      const tarFile = join(scratch, 'out.tar');
      writeFileSync(tarFile, stream.stdout, 'latin1');
      const entries: string[] = [];
      await tarList({ file: tarFile, onReadEntry: (e) => void entries.push(e.path) });
      expect(entries).toEqual(['out/', 'out/file.txt']);
      const input = join(scratch, 'in.tar');
      await tarCreate({ file: input, cwd: local, portable: true }, ['a.txt']);
      const piped = await new Promise<{ status: number | null }>((resolve) => {
        import('node:child_process').then(({ spawn }) => {
          const p = spawn(process.execPath, [join(import.meta.dirname, '../../bin/mayfly.js'), 'cp', '-', `${name}:/from-stdin`], { stdio: ['pipe', 'ignore', 'inherit'] });
          p.stdin!.end(readFileSync(input));
          p.on('close', (status) => resolve({ status }));
        });
      });
      expect(piped.status).toBe(0);
      expect(await ok(['exec', name, 'cat', '/from-stdin/a.txt'])).toBe('from the host\n');
      const missing = await mayfly(['cp', `${name}:/no/such`, out]);
      expect([missing.status, missing.stderr]).toEqual([125, expect.stringContaining('/no/such does not exist in the container')]);
      expect((await mayfly(['cp', 'a', 'b'])).stderr).toContain('one of SRC and DEST must be CONTAINER:PATH');
    } finally {
      await mayfly(['rm', '-f', name]);
    }
  }, 90_000);
});

describe('--mount, anonymous volumes, rm -v', () => {
  it('bind (read-only), named volume (created on first use), tmpfs, and an anonymous volume that rm -v removes', async () => {
    const hostDir = join(scratch, 'bind');
    mkdirSync(hostDir);
    writeFileSync(join(hostDir, 'conf'), 'bound\n');
    const vol = `mount-vol-${tag}`;
    const name = `mount-${tag}`;
    expect(await ok(['volume', 'ls', '-q'])).not.toContain(vol);
    await ok([
      'run', '-d', '--name', name,
      '--mount', `type=bind,source=${hostDir},target=/etc/app,readonly`,
      '--mount', `type=volume,src=${vol},dst=/data`,
      '--mount', 'type=tmpfs,destination=/scratch,tmpfs-size=1m',
      '--mount', 'type=volume,target=/anon',
      '--rootfs', BUSYBOX, '--', 'sleep', '300',
    ]);
    try {
      expect(await ok(['exec', name, 'cat', '/etc/app/conf'])).toBe('bound\n');
      expect((await mayfly(['exec', name, 'sh', '-c', 'echo x > /etc/app/conf'])).status).not.toBe(0);
      expect(await ok(['exec', name, 'sh', '-c', 'grep -E " /scratch tmpfs" /proc/mounts | grep -c size=1024k'])).toBe('1\n');
      await ok(['exec', name, 'sh', '-c', 'echo kept > /data/f && echo anon > /anon/f']);
      const vols = await ok(['volume', 'ls', '--format', '{{.Name}}']);
      expect(vols).toContain(vol);
      const anonymous = vols.split('\n').filter((v) => /^[0-9a-f]{64}$/.test(v));
      const [doc] = JSON.parse(await ok(['inspect', name])) as { Mounts: { Type: string; Name?: string; Destination: string; RW: boolean }[] }[];
      const anon = doc!.Mounts.find((m) => m.Destination === '/anon')!.Name!;
      expect(anonymous).toContain(anon);
      expect(doc!.Mounts.map((m) => [m.Type, m.Destination, m.RW])).toEqual([
        ['bind', '/etc/app', false],
        ['volume', '/data', true],
        ['volume', '/anon', true],
        ['tmpfs', '/scratch', true],
      ]);
      await ok(['rm', '-f', '-v', name]);
      const after = await ok(['volume', 'ls', '-q']);
      expect(after).toContain(vol); // named volumes stay, as Docker keeps them
      expect(after).not.toContain(anon);
      expect(await ok(['run', '--rm', '-v', `${vol}:/data`, '--rootfs', BUSYBOX, '--', 'cat', '/data/f'])).toBe('kept\n');
      const bad = await mayfly(['run', '--rm', '--mount', 'type=bind,src=/tmp,target=/x,bind-propagation=shared', '--rootfs', BUSYBOX, '--', 'true']);
      expect([bad.status, bad.stderr]).toEqual([125, expect.stringContaining('unknown key "bind-propagation"')]);
    } finally {
      await mayfly(['rm', '-f', name]);
      await mayfly(['volume', 'rm', vol]);
    }
  }, 90_000);
});

describe("networks: Docker's default bridge, connect and disconnect", () => {
  it('network ls lists bridge, host and none; containers without --network reach each other by address, not by name', async () => {
    // other files' networks share this home (two workers): the three must be there, others may be too
    const listed = (await ok(['network', 'ls', '--format', '{{.Name}} {{.Driver}}'])).split('\n').filter(Boolean);
    expect(listed).toEqual(expect.arrayContaining(['bridge bridge', 'host host', 'none null']));
    const [a, b] = [`br-a-${tag}`, `br-b-${tag}`];
    await ok(['run', '-d', '--name', a, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'mkdir -p /www && echo from-a > /www/index.html && exec httpd -f -p 80 -h /www']);
    await ok(['run', '-d', '--name', b, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      const ip = (await ok(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', a])).trim();
      expect(ip).toMatch(/^172\.17\.0\.\d+$/);
      let got = '';
      await until(async () => (got = (await mayfly(['exec', b, 'wget', '-qO-', `http://${ip}/`])).stdout) === 'from-a\n', 10_000, `${a} to answer on ${ip}`);
      expect(got).toBe('from-a\n');
      expect((await mayfly(['exec', b, 'wget', '-qO-', `http://${a}/`])).stderr).toContain('bad address');
      const [net] = JSON.parse(await ok(['network', 'inspect', 'bridge'])) as { Containers: Record<string, { Name: string }>; IPAM: { Config: { Subnet: string }[] } }[];
      expect(net!.IPAM.Config[0]!.Subnet).toBe('172.17.0.0/24');
      expect(Object.values(net!.Containers).map((c) => c.Name)).toEqual(expect.arrayContaining([a, b]));
      expect((await mayfly(['network', 'rm', 'bridge'])).stderr).toContain('pre-defined network');
      expect((await mayfly(['run', '--rm', '--network-alias', 'x', '--rootfs', BUSYBOX, '--', 'true'])).stderr).toContain('aliases need a user-defined network');
    } finally {
      await mayfly(['rm', '-f', a, b]);
    }
  }, 90_000);

  it('the default bridge reaches the host loopback only when asked (--add-host NAME:host-gateway), where outbound works', async () => {
    const server = createServer((s) => s.end('hello from the host\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const probe = (host: string) => `nc -w 2 ${host} ${port} </dev/null || echo no-way-out`;
    try {
      const asked = await mayfly(['run', '--rm', '--add-host', 'dev.local:host-gateway', '--rootfs', BUSYBOX, '--', 'sh', '-c', probe('dev.local')]);
      expect(asked.stdout).toContain(outboundSupport().usable ? 'hello from the host' : 'no-way-out');
      // not asked: slirp4netns's gateway does not lead to the host's 127.0.0.1 (as podman's default)
      const plain = await mayfly(['run', '--rm', '--rootfs', BUSYBOX, '--', 'sh', '-c', probe('10.0.2.2')]);
      expect(plain.stdout).toContain('no-way-out');
      const none = await mayfly(['run', '--rm', '--network', 'none', '--rootfs', BUSYBOX, '--', 'sh', '-c', probe('10.0.2.2')]);
      expect(none.stdout).toContain('no-way-out');
    } finally {
      server.close();
    }
  }, 90_000);

  it('connect a running container (reached by its alias at once) and a stopped one (joins at start); disconnect', async () => {
    const net = `conn-net-${tag}`;
    const [web, client, later] = [`conn-web-${tag}`, `conn-client-${tag}`, `conn-later-${tag}`];
    await ok(['network', 'create', '--driver', 'bridge', net]);
    await ok(['run', '-d', '--name', web, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'mkdir -p /www && echo from-web > /www/index.html && exec httpd -f -p 80 -h /www']);
    await ok(['run', '-d', '--name', client, '--network', net, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      expect((await mayfly(['exec', client, 'timeout', '2', 'wget', '-qO-', 'http://api/'])).status).not.toBe(0);
      await ok(['network', 'connect', '--alias', 'api', net, web]);
      let got = '';
      await until(async () => (got = (await mayfly(['exec', client, 'timeout', '3', 'wget', '-qO-', 'http://api/'])).stdout) === 'from-web\n', 15_000, 'the alias to answer');
      expect(got).toBe('from-web\n');
      expect(await ok(['inspect', '-f', '{{range $n, $v := .NetworkSettings.Networks}}{{$n}} {{end}}', web])).toBe(`bridge ${net} \n`);
      expect((await mayfly(['network', 'connect', net, web])).stderr).toContain(`already on network ${net}`);
      await ok(['network', 'disconnect', net, web]);
      expect((await mayfly(['exec', client, 'timeout', '2', 'wget', '-qO-', `http://${web}/`])).status).not.toBe(0);
      // a created (not started) container joins when it starts
      await ok(['create', '--name', later, '--network', 'none', '--rootfs', BUSYBOX, '--', 'sleep', '300']);
      await ok(['network', 'connect', net, later]);
      await ok(['start', later]);
      await until(async () => (await mayfly(['exec', client, 'ping', '-c', '1', '-W', '2', later])).status === 0, 15_000, `${later} to be reachable`);
      expect((await mayfly(['network', 'disconnect', net, 'no-such-container'])).stderr).toContain('no such container');
    } finally {
      await mayfly(['rm', '-f', web, client, later]);
      await mayfly(['network', 'rm', net]);
    }
  }, 90_000);
});

describe('search', () => {
  it("a registry's catalog (REGISTRY/TERM); Docker Hub's mirrors when Hub cannot be reached; a clear error when nothing can be searched", async () => {
    const registry = process.env.MAYFLY_TEST_REGISTRY!;
    const image = `${registry}/cli-search/findme-${tag}:1`;
    await ok(['tag', BASE, image]);
    await ok(['push', image]);
    try {
      const found = await ok(['search', `${registry}/findme-${tag}`]);
      expect(found).toMatch(new RegExp(`^NAME\\s+DESCRIPTION\\s+STARS\\s+OFFICIAL\\n${registry}/cli-search/findme-${tag}\\s+0\\s*\\n$`));
      expect(await ok(['search', '--format', '{{.Name}}', `findme-${tag}`])).toBe(`${registry}/cli-search/findme-${tag}\n`);
      const none = await mayfly(['search', `findme-${tag}`], { env: { MAYFLY_REGISTRY_MIRRORS: '' } });
      if (none.status === 0) expect(none.stdout).not.toContain(registry); // Docker Hub was reachable after all
      else expect(none.stderr).toContain(`cannot search for "findme-${tag}"`);
    } finally {
      await mayfly(['rmi', image]);
    }
  }, 90_000);
});
