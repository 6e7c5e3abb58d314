/**
 * GenericContainer as Testcontainers' own suite exercises it, against the same HTTP test server
 * (`cristianrgreco/testcontainer:1.1.14`, mayfly's look-alike): ports, exec, environment, command,
 * entrypoint, names, labels, mounts, capabilities, copies, logs, stop/restart, commit, builds —
 * through `mayfly/testcontainers`.
 */
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import getPort from 'get-port';
import { c as tarCreate, t as tarList } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { GenericContainer, PullPolicy, TestContainers, Wait, type StartedGenericContainer, type StartedTestContainer } from '../../src/testcontainers/index.js';
import { caught, until } from '../support/runtime.js';
import { busyboxImage, HTTP_PORT, TC_IMAGE, useTestcontainerImages } from '../support/tc-images.js';

useTestcontainerImages();
const scratch = mkdtempSync(join(tmpdir(), 'mayfly-tc-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const url = (c: StartedTestContainer, path: string) => `http://${c.getHost()}:${c.getMappedPort(HTTP_PORT)}${path}`;
const text = async (u: string, init?: RequestInit) => (await fetch(u, init)).text();
const json = async (u: string) => (await fetch(u)).json() as Promise<unknown>;
const server = () => new GenericContainer(TC_IMAGE).withExposedPorts(HTTP_PORT);

/** the entries of a tar stream: path → content */
async function tarEntries(stream: NodeJS.ReadableStream): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const parser = tarList({
    onReadEntry: (e) => {
      const chunks: Buffer[] = [];
      e.on('data', (d: Buffer) => chunks.push(d));
      e.on('end', () => (out[e.path] = Buffer.concat(chunks).toString()));
    },
  });
  await new Promise<void>((resolve, reject) => {
    (stream as Readable).pipe(parser).on('finish', resolve).on('error', reject);
  });
  return out;
}

describe('GenericContainer: ports', () => {
  it('should return the first mapped port, and the mapped port of each', async () => {
    await using c = await server().start();
    expect(c.getFirstMappedPort()).toBe(c.getMappedPort(HTTP_PORT));
    expect(c.getMappedPort(`${HTTP_PORT}/tcp`)).toBe(c.getMappedPort(HTTP_PORT));
    expect(c.getHost()).toBe('127.0.0.1');
    expect((await fetch(url(c, '/hello-world'))).status).toBe(200);
    expect(() => c.getMappedPort(9999)).toThrow('No port binding found for :9999/tcp');
  });

  it('should bind to a specified host port, and a UDP port', async () => {
    const hostPort = await getPort();
    await using c = await new GenericContainer(TC_IMAGE).withExposedPorts({ container: HTTP_PORT, host: hostPort }, '5353/udp').start();
    expect(c.getMappedPort(HTTP_PORT)).toBe(hostPort);
    expect(c.getMappedPort(5353, 'udp')).toBeGreaterThan(0);
    expect(await text(`http://127.0.0.1:${hostPort}/hello-world`)).toBe('hello-world');
  });
});

describe('GenericContainer: exec', () => {
  it('should execute a command on a running container', async () => {
    await using c = await server().start();
    expect(await c.exec(['echo', 'hello', 'world'])).toEqual({ output: 'hello world\n', stdout: 'hello world\n', stderr: '', exitCode: 0 });
    expect((await c.exec('echo split on spaces')).output).toBe('split on spaces\n');
    expect(await c.exec(['sh', '-c', 'echo out; sleep 0.05; echo err >&2; sleep 0.05; echo out2; exit 3'])).toEqual({ output: 'out\nerr\nout2\n', stdout: 'out\nout2\n', stderr: 'err\n', exitCode: 3 });
  });

  it('should execute a command in a different working directory, with environment variables, as another user', async () => {
    await using c = await server().start();
    expect((await c.exec(['pwd'], { workingDir: '/var/log' })).output).toBe('/var/log\n');
    expect((await c.exec(['env'], { env: { TEST_ENV: 'test' } })).output).toContain('TEST_ENV=test');
    expect((await c.exec(['whoami'], { user: 'node' })).output).toBe('node\n');
  });
});

describe('GenericContainer: what runs, and how', () => {
  it('should set environment variables', async () => {
    await using c = await server().withEnvironment({ customKey: 'customValue' }).withEnvironment({ other: 'x' }).start();
    expect(await json(url(c, '/env'))).toMatchObject({ customKey: 'customValue', other: 'x' });
  });

  it('should set the command', async () => {
    await using c = await server().withCommand(['node', 'index.js', 'one', 'two', 'three']).start();
    expect(await json(url(c, '/cmd'))).toEqual(['/usr/local/bin/node', '/index.js', 'one', 'two', 'three']);
  });

  it('should set the entrypoint', async () => {
    await using c = await server().withEntrypoint(['node']).withCommand(['index.js']).start();
    expect(await text(url(c, '/hello-world'))).toBe('hello-world');
    expect((await c.exec(['cat', '/proc/1/cmdline'])).output.split('\0')[0]).toBe('node');
  });

  it('should set the working directory, the user, the host name', async () => {
    await using c = await server().withWorkingDir('/tmp').withCommand(['node', '../index.js']).withUser('node').withHostname('custom-hostname').start();
    expect((await c.exec(['pwd'])).output).toBe('/tmp\n');
    expect((await c.exec(['whoami'])).output).toBe('node\n');
    expect((await c.exec(['hostname'])).output).toBe('custom-hostname\n');
    expect(c.getHostname()).toBe('custom-hostname');
  });

  it('should set the name (getName with Docker\'s slash), labels, the platform of this machine', async () => {
    const name = `tc-named-${process.pid}`;
    await using c = await server().withName(name).withLabels({ 'label-1': 'value-1' }).withLabels({ 'label-2': 'value-2' }).withPlatform(process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64').start();
    expect(c.getName()).toBe(`/${name}`);
    expect(c.getLabels()).toMatchObject({ 'label-1': 'value-1', 'label-2': 'value-2', 'org.testcontainers': 'true' });
    expect(c.getHostname()).toBe(c.getId().slice(0, 12));
    expect(c.getNetworkNames()).toEqual([]);
  });

  it('should set bind mounts (read-only too), tmpfs (noexec honoured), the shared memory size, a resources quota', async () => {
    const dir = join(scratch, 'bind');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'test.txt'), 'hello world');
    await using c = await server()
      .withBindMounts([{ source: join(dir, 'test.txt'), target: '/tmp/test.txt' }, { source: dir, target: '/ro', mode: 'ro' }])
      .withTmpFs({ '/testtmpfs': 'rw,noexec,nosuid,size=1m' })
      .withSharedMemorySize(8 * 1024 * 1024)
      .withResourcesQuota({ memory: 0.25, cpu: 1 })
      .start();
    expect((await c.exec(['cat', '/tmp/test.txt'])).output).toBe('hello world');
    expect((await c.exec(['touch', '/ro/new'])).exitCode).not.toBe(0);
    const mounts = (await c.exec(['cat', '/proc/mounts'])).output;
    expect(mounts).toMatch(/tmpfs \/testtmpfs tmpfs rw,nosuid,nodev,noexec,[^ ]*size=1024k/);
    expect(mounts).toMatch(/\/dev\/shm tmpfs [^ ]*size=8192k/);
    expect((await c.exec(['sh', '-c', 'touch /testtmpfs/file && ls /testtmpfs'])).output).toBe('file\n');
    expect((await c.exec(['sh', '-c', 'cp /bin/true /testtmpfs/x && /testtmpfs/x'])).exitCode).not.toBe(0);
  });

  it('should add and drop capabilities (getpcaps of PID 1), be privileged, turn seccomp off, add hosts', async () => {
    const capsOf = async (c: StartedTestContainer) => (await c.exec(['getpcaps', '1'])).output;
    const seccompOf = async (c: StartedTestContainer) => /Seccomp:\s*(\d)/.exec((await c.exec(['cat', '/proc/1/status'])).output)?.[1];
    await using plain = await server().start();
    expect(await capsOf(plain)).toMatch(/chown/);
    expect(await capsOf(plain)).not.toMatch(/net_admin/);
    expect(await seccompOf(plain)).toBe('2'); // the default filter
    await using c = await server()
      .withAddedCapabilities('NET_ADMIN', 'CAP_IPC_LOCK')
      .withDroppedCapabilities('CHOWN')
      .withSecurityOpt('seccomp=unconfined')
      .withExtraHosts([{ host: 'db.internal', ipAddress: '10.0.0.5' }])
      .start();
    const caps = await capsOf(c);
    expect(caps).toMatch(/net_admin/);
    expect(caps).toMatch(/ipc_lock/);
    expect(caps).not.toMatch(/chown/);
    expect(await seccompOf(c)).toBe('0');
    expect((await c.exec(['cat', '/etc/hosts'])).output).toMatch(/10\.0\.0\.5\s+db\.internal/);
    await using privileged = await server().withPrivilegedMode().start();
    expect(await capsOf(privileged)).toMatch(/^1: =ep$/m); // libcap's way of saying every capability
    expect(await seccompOf(privileged)).toBe('0');
    const bad = await caught(server().withAddedCapabilities('NET_ADMN').start());
    expect(bad.message).toMatch(/capAdd\.0: unknown capability "NET_ADMN"/);
  });
});

describe('GenericContainer: copies', () => {
  it('should copy files, directories, content (string, Buffer, stream) and archives to the container before start, with permissions', async () => {
    const file = join(scratch, 'test.txt');
    writeFileSync(file, 'hello world');
    const dir = join(scratch, 'dir');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'deep.txt'), 'deep');
    const archiveDir = join(scratch, 'archive');
    mkdirSync(archiveDir, { recursive: true });
    writeFileSync(join(archiveDir, 'from-tar.txt'), 'in a tar');
    const tar = tarCreate({ cwd: archiveDir, portable: true }, ['from-tar.txt']) as unknown as Readable;
    await using c = await server()
      .withCopyFilesToContainer([{ source: file, target: '/tmp/test.txt', mode: parseInt('0777', 8) }])
      .withCopyDirectoriesToContainer([{ source: dir, target: '/tmp/dir' }])
      .withCopyContentToContainer([
        { content: 'hello world', target: '/tmp/string.txt' },
        { content: Buffer.from('a buffer'), target: '/tmp/buffer.txt' },
        { content: Readable.from(['a ', 'stream']), target: '/tmp/stream.txt', mode: parseInt('0640', 8) },
      ])
      .withCopyArchivesToContainer([{ tar, target: '/tmp/tar' }])
      .start();
    expect((await c.exec(['cat', '/tmp/test.txt'])).output).toBe('hello world');
    expect((await c.exec(['stat', '-c', '%a %n', '/tmp/test.txt', '/tmp/stream.txt'])).output).toBe('777 /tmp/test.txt\n640 /tmp/stream.txt\n');
    expect((await c.exec(['cat', '/tmp/dir/sub/deep.txt', '/tmp/string.txt', '/tmp/buffer.txt', '/tmp/stream.txt', '/tmp/tar/from-tar.txt'])).output).toBe('deephello worlda buffera streamin a tar');
  });

  it('should copy to a started container, and an archive out of it', async () => {
    await using c = await server().start();
    const file = join(scratch, 'started.txt');
    writeFileSync(file, 'started');
    await c.copyFilesToContainer([{ source: file, target: '/tmp/started.txt' }]);
    await c.copyContentToContainer([{ content: 'content', target: '/tmp/content.txt' }]);
    await c.copyDirectoriesToContainer([{ source: join(scratch, 'dir'), target: '/tmp/dir' }]);
    const tarDir = join(scratch, 'tar2');
    mkdirSync(tarDir, { recursive: true });
    writeFileSync(join(tarDir, 't.txt'), 'tarred');
    await c.copyArchiveToContainer(tarCreate({ cwd: tarDir, portable: true }, ['t.txt']) as unknown as Readable, '/tmp/tar');
    expect((await c.exec(['cat', '/tmp/started.txt', '/tmp/content.txt', '/tmp/dir/sub/deep.txt', '/tmp/tar/t.txt'])).output).toBe('startedcontentdeeptarred');
    expect(await tarEntries(await c.copyArchiveFromContainer('/tmp/content.txt'))).toEqual({ 'content.txt': 'content' });
    expect((await caught(c.copyArchiveToContainer(Readable.from([]), '/', { copyUIDGID: true }))).code).toBe('UNSUPPORTED');
  });
});

describe('GenericContainer: logs', () => {
  it('should stream logs, follow them, from a tail or a time; a log consumer sees them from the start', async () => {
    const seen: string[] = [];
    await using c = await new GenericContainer(busyboxImage())
      .withCommand(['sh', '-c', 'for i in 1 2 3; do echo line $i; done; echo ready; sleep 0.3; echo later; exec sleep 60'])
      .withLogConsumer((stream) => stream.on('data', (d: string) => seen.push(...d.split('\n').filter(Boolean))))
      .withWaitStrategy(Wait.forLogMessage('ready'))
      .start();
    const lines: string[] = [];
    for await (const chunk of await c.logs()) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      if (lines.includes('later')) break;
    }
    expect(lines).toEqual(['line 1', 'line 2', 'line 3', 'ready', 'later']);
    let tail = '';
    for await (const chunk of await c.logs({ tail: 2 })) {
      tail += chunk;
      if (tail.includes('later')) break;
    }
    expect(tail).toBe('ready\nlater\n');
    await until(() => seen.includes('later'), 2000, 'the log consumer to see the last line');
    expect(seen).toEqual(['line 1', 'line 2', 'line 3', 'ready', 'later']);
    const future = await c.logs({ since: Date.now() / 1000 + 60 });
    let since = '';
    await c.stop();
    for await (const chunk of future) since += chunk; // ends with the container
    expect(since).toBe('');
  });

  it('the server\'s own lines, as its users wait for them', async () => {
    await using c = await server().withExposedPorts(8443).start();
    let all = '';
    for await (const chunk of await c.logs()) {
      all += chunk;
      if (all.includes('Listening on secure port 8443')) break;
    }
    expect(all).toContain('Listening on port 8080');
  });
});

describe('GenericContainer: stop, restart, commit, reuse', () => {
  it('should stop the container (idempotently), and remove it unless told otherwise', async () => {
    const c = await server().start();
    const u = url(c, '/hello-world');
    const stopped = await c.stop();
    expect(await c.stop()).toBe(stopped);
    expect(stopped.getId()).toBe(c.getId());
    await expect(fetch(u)).rejects.toThrow();
    expect((await caught(stopped.copyArchiveFromContainer('/tmp'))).code).toBe('CONTAINER_NOT_FOUND');
    const kept = (await server().start()) as StartedGenericContainer;
    const keptStopped = await kept.stop({ remove: false, timeout: 1000 });
    expect(kept.mayfly.container.status).toBe('exited');
    expect((await caught(keptStopped.copyArchiveFromContainer('/tmp'))).code).toBe('UNSUPPORTED');
    await kept.mayfly.remove();
    const noAutoRemove = (await server().withAutoRemove(false).start()) as StartedGenericContainer;
    await noAutoRemove.stop();
    expect(noAutoRemove.mayfly.container.status).toBe('exited');
    await noAutoRemove.mayfly.remove();
  });

  it('should restart, keep its state, and wait again for output since the restart', async () => {
    await using c = await server().withWaitStrategy(Wait.forLogMessage('Listening on port 8080')).start();
    await c.exec(['touch', '/tmp/kept']);
    await c.restart();
    expect(await text(url(c, '/hello-world'))).toBe('hello-world');
    expect((await c.exec(['ls', '/tmp/kept'])).exitCode).toBe(0);
  });

  it('should commit the container\'s changes as an image, with Dockerfile changes', async () => {
    await using c = await server().start();
    await c.exec(['sh', '-c', 'echo committed > /tmp/committed.txt']);
    const repo = `mayfly-test/tc-committed-${process.pid}`;
    const id = await c.commit({ repo, tag: 'v1', changes: ['ENV COMMITTED=yes', 'LABEL made-by=commit'] });
    expect(id).toMatch(/^sha256:/);
    try {
      await using d = await new GenericContainer(`${repo}:v1`).withExposedPorts(HTTP_PORT).start();
      expect((await d.exec(['cat', '/tmp/committed.txt'])).output).toBe('committed\n');
      expect(await json(url(d, '/env'))).toMatchObject({ COMMITTED: 'yes' });
      expect(d.getLabels()['made-by']).toBe('commit');
      expect((await caught(c.commit({ repo, tag: 'v2', changes: ['RUN rm -rf /'] }))).message).toContain('changes[0]: RUN cannot be applied by a commit');
    } finally {
      await (await sharedRuntime()).rmi(`${repo}:v1`, { force: true });
    }
  });

  it('should reuse a running container with the same settings', async () => {
    const make = () => server().withLabels({ reuse: String(process.pid) }).withReuse();
    const a = await make().start();
    const b = await make().start();
    expect(b.getId()).toBe(a.getId());
    expect(await text(url(b, '/hello-world'))).toBe('hello-world');
    await a.stop();
  });
});

describe('GenericContainer: images', () => {
  it('should build from a Dockerfile with build args (a rebuild runs no step), a target stage, without the cache; and start it', async () => {
    const ctx = join(scratch, 'build');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      join(ctx, 'Dockerfile'),
      `FROM ${TC_IMAGE} AS base\nARG MESSAGE=default\nRUN echo "$MESSAGE" > /built.txt\n\nFROM base AS extra\nRUN echo extra > /extra.txt\n`,
    );
    const built = await GenericContainer.fromDockerfile(ctx).withBuildArgs({ MESSAGE: 'from a build arg' }).build();
    await using c = await built.withExposedPorts(HTTP_PORT).start();
    expect((await c.exec(['cat', '/built.txt', '/extra.txt'])).output).toBe('from a build arg\nextra\n');
    const t0 = Date.now();
    const again = await GenericContainer.fromDockerfile(ctx).withBuildArgs({ MESSAGE: 'from a build arg' }).withTarget('base').build(`mayfly-test/tc-built-${process.pid}:base`);
    expect(Date.now() - t0).toBeLessThan(5000); // its steps are cached
    await using b = await again.withExposedPorts(HTTP_PORT).start();
    expect((await b.exec(['cat', '/built.txt'])).output).toBe('from a build arg\n');
    expect((await b.exec(['ls', '/extra.txt'])).exitCode).not.toBe(0);
    await GenericContainer.fromDockerfile(ctx).withBuildArgs({ MESSAGE: 'from a build arg' }).withTarget('base').withCache(false).build(`mayfly-test/tc-built-${process.pid}:fresh`);
    const refused = await caught(GenericContainer.fromDockerfile(ctx).withPlatform('linux/s390x').build());
    expect(refused.code).toBe('UNSUPPORTED');
    expect(refused.message).toContain('withPlatform("linux/s390x")');
    const rt = await sharedRuntime();
    for (const n of rt.images().flatMap((i) => i.names).filter((x) => x.includes('testcontainers/') || x.includes('tc-built'))) await rt.rmi(n, { force: true }).catch(() => {});
  });

  it('should pull again with PullPolicy.alwaysPull() (an image only the store has fails)', async () => {
    const e = await caught(new GenericContainer(busyboxImage()).withPullPolicy(PullPolicy.alwaysPull()).start());
    expect(e.code).toMatch(/IMAGE_NOT_FOUND|REGISTRY/);
  });
});

describe('GenericContainer: what mayfly cannot do is refused at start(), by name, before anything runs', () => {
  it('lists every unsupported setting at once', async () => {
    const e = await caught(
      server()
        .withUlimits({ nofile: { soft: 1024, hard: 1024 } })
        .withIpcMode('host')
        .withSecurityOpt('no-new-privileges', 'seccomp=/profile.json')
        .withPlatform('linux/s390x')
        .withAutoCleanup(false)
        .start(),
    );
    expect(e.code).toBe('UNSUPPORTED');
    for (const what of ['withUlimits(nofile)', 'withIpcMode("host")', 'withSecurityOpt("seccomp=/profile.json")', 'withPlatform("linux/s390x")', 'withAutoCleanup(false)']) {
      expect(e.message).toContain(what);
    }
  });

  it('accepts what describes a mayfly container anyway', async () => {
    await using c = await server().withSecurityOpt('no-new-privileges:true', 'seccomp=unconfined').withIpcMode('private').withDefaultLogDriver().withNetworkMode('bridge').start();
    expect(await text(url(c, '/hello-world'))).toBe('hello-world');
    const tmpfs = await caught(server().withTmpFs({ '/x': 'uid=1000' }).start());
    expect(tmpfs.message).toMatch(/tmpfs\.\/x: .*unknown option "uid"/);
  });
});

describe('TestContainers.exposeHostPorts', () => {
  it('should reach an exposed host port as host.testcontainers.internal, and no other', async () => {
    const listen = async (text: string) => {
      const h = createServer((_req, res) => res.end(text));
      await new Promise<void>((r) => h.listen(0, '127.0.0.1', r));
      return h;
    };
    const exposed = await listen('from the host');
    const other = await listen('not for containers');
    const portOf = (h: typeof exposed) => (h.address() as { port: number }).port;
    try {
      await TestContainers.exposeHostPorts(portOf(exposed));
      await using c = await server().start();
      expect((await c.exec(['curl', '-s', `http://host.testcontainers.internal:${portOf(exposed)}`])).output).toBe('from the host');
      expect((await c.exec(['curl', '-s', '--max-time', '2', `http://host.testcontainers.internal:${portOf(other)}`])).exitCode).not.toBe(0);
      expect((await caught(TestContainers.exposeHostPorts(70000))).message).toMatch(/exposeHostPorts ports:\s+0: Too big/);
    } finally {
      exposed.close();
      other.close();
    }
  });
});
