import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { container, environment, isMayflyError, startContainer, Wait } from '../../src/index.js';
import { BUSYBOX, caught } from '../support/runtime.js';

/** busybox httpd on port 80 answering with `body`, after `delay` seconds */
const web = (body: string, delay = 0) =>
  container()
    .withLayers(BUSYBOX)
    .withCommand(['sh', '-c', `sleep ${delay}; mkdir -p /www && echo ${body} > /www/index.html && echo serving && exec httpd -f -v -p 80 -h /www`])
    .withExposedPorts(80);

describe('harness: one container', () => {
  it('start() returns once the port listens inside the container; url, exec, logs, stop/restart, await using', async () => {
    {
      await using c = await web('hello', 0.5).start();
      const r = await fetch(c.url(80));
      expect(await r.text()).toBe('hello\n');
      expect(c.host).toBe('127.0.0.1');
      expect(c.port(80)).toBeGreaterThan(0);
      expect((await c.exec('echo $((6*7))')).stdout).toBe('42\n');
      expect((await c.exec(['id', '-u'])).stdout).toBe('0\n');
      expect(await c.output()).toContain('serving');
      await c.stop({ timeout: 0 });
      await c.restart();
      expect(c.container.status).toBe('running');
      var name = c.name; // eslint-disable-line no-var
    }
    // disposed at the end of the block: its name is free again
    const again = await startContainer({ layers: [BUSYBOX], command: ['true'], name, wait: Wait.none() });
    await again.remove();
  });

  it('logStream follows the output as it comes', async () => {
    await using c = await container()
      .withLayers(BUSYBOX)
      .withCommand(['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.1; done; sleep 30'])
      .withWaitStrategy(Wait.forLogMessage('tick 1'))
      .start();
    const lines: string[] = [];
    const stream = c.logStream();
    // a reader that falls behind (a busy machine) gets the lines buffered so far in one chunk
    for await (const chunk of stream) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      if (lines.length >= 3) break;
    }
    expect(lines).toEqual(['tick 1', 'tick 2', 'tick 3']);
  });

  it('a wrong option names the field and the expected value, before anything starts', async () => {
    const e = await caught(startContainer({ image: 'busybox', exposedPorts: [70000], tmpfs: { relative: 'size=1m' } }));
    expect(e.code).toBe('INVALID_OPTION');
    expect(e.message).toMatch(/exposedPorts\.0: .*65535/);
    expect(e.message).toMatch(/tmpfs\.relative/);
    const typo = await caught(startContainer({ image: 'busybox', exposedPort: [80] } as never));
    expect(typo.message).toMatch(/exposedPort/);
  });

  it('an image that exits at once fails fast with its logs; a service that never becomes ready times out with its logs', async () => {
    const t0 = Date.now();
    const exited = await caught(container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo boom: config missing >&2; exit 3']).withExposedPorts(80).withStartupTimeout(20_000).start());
    expect(exited.code).toBe('CONTAINER_EXITED');
    expect(exited.message).toContain('boom: config missing');
    expect(Date.now() - t0).toBeLessThan(10_000);

    const never = await caught(
      container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo still warming up; sleep 60']).withExposedPorts(80).withStartupTimeout(1500).start(),
    );
    expect(never.code).toBe('WAIT_TIMEOUT');
    expect(never.message).toContain('still warming up');
    expect(never.message).toMatch(/80/);
  });
});

describe('harness: one-shot containers', () => {
  it('Wait.forOneShotStartup is ready when the command finishes with 0, and fails with its logs otherwise', async () => {
    const ok = await container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo migrating; sleep 0.2; echo done']).withWaitStrategy(Wait.forOneShotStartup()).start();
    expect(await ok.output()).toBe('migrating\ndone\n');
    await ok.remove();
    const bad = await caught(container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo migration 7 failed; exit 2']).withWaitStrategy(Wait.forOneShotStartup()).start());
    expect(bad.code).toBe('CONTAINER_EXITED');
    expect(bad.message).toContain('migration 7 failed');
    expect(bad.details.exitCode).toBe(2);
  });
});

describe('harness: environments', () => {
  it('starts services in dependency order on a private network, reachable by service name; down() removes all', async () => {
    const env = await environment()
      .withService('db', web('db-data'))
      .withService(
        'app',
        container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'wget -qO- http://db/ > /tmp/seen && mkdir -p /www && cp /tmp/seen /www/index.html && exec httpd -f -p 8080 -h /www']).withExposedPorts(8080),
        { dependsOn: ['db'] },
      )
      .up();
    try {
      expect(await (await fetch(env.service('app').url(8080))).text()).toBe('db-data\n');
      expect(env.services.sort()).toEqual(['app', 'db']);
    } finally {
      await env.down();
    }
    expect(() => env.service('app')).toThrow();
  });

  it('a failing service removes the others and names itself; cycles are refused up front', async () => {
    const e = await caught(
      environment()
        .withService('ok', web('fine'))
        .withService('broken', container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo no luck; exit 1']).withExposedPorts(80))
        .up(),
    );
    expect(e.message).toMatch(/^service broken: /);
    const cycle = await caught(environment().withService('a', web('a'), { dependsOn: ['b'] }).withService('b', web('b'), { dependsOn: ['a'] }).up());
    expect(cycle.message).toContain('dependency cycle');
  });
});

describe('harness: reuse', () => {
  it('a reused container survives its process and is found again by its options', async () => {
    const script = (tag: string) => `
      import { startContainer } from ${JSON.stringify(join(import.meta.dirname, '../../dist/index.js'))};
      const t0 = performance.now();
      const c = await startContainer({ layers: [${JSON.stringify(BUSYBOX)}], command: ['sh', '-c', 'echo up; exec httpd -f -p 80 -h /'], exposedPorts: [80], reuse: true, labels: { tag: ${JSON.stringify(tag)} } });
      console.log(JSON.stringify({ id: c.id, port: c.port(80), ms: performance.now() - t0 }));
    `;
    const run = (tag: string) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(tag)], { encoding: 'utf8', timeout: 30_000 });
      if (r.status !== 0) throw new Error(r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { id: string; port: number; ms: number };
    };
    // the keeper is shared by every test file of the run: global teardown ends it (and these)
    const first = run('one');
    const second = run('one');
    const other = run('two');
    expect(second.id).toBe(first.id);
    expect(second.port).toBe(first.port);
    expect(other.id).not.toBe(first.id);
    expect((await fetch(`http://127.0.0.1:${first.port}/`)).status).toBeLessThan(500);
  });

  it('stopReusedContainers() returns to its caller once the keeper and its containers are gone', async () => {
    // a home of its own: this ends its keeper, which the run's other files share in theirs
    const home = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'home-keeper-stop-'));
    const dist = JSON.stringify(join(import.meta.dirname, '../../dist/index.js'));
    const node = (script: string) => spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, MAYFLY_HOME: home } });
    // PID 1 ignores SIGTERM: the keeper's stop takes its grace period before SIGKILL
    const started = node(`
      import { startContainer } from ${dist};
      const c = await startContainer({ layers: [${JSON.stringify(BUSYBOX)}], command: ['sh', '-c', 'trap "" TERM; echo up; httpd -f -p 80 -h / & wait'], exposedPorts: [80], reuse: true });
      console.log(c.port(80));`);
    expect(started.status, started.stderr).toBe(0);
    const port = Number(started.stdout.trim().split('\n').pop());
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBeLessThan(500);
    // the code after the await runs (an idle connection and an unref'd timer let Node exit before)
    const stopped = node(`
      import { stopReusedContainers } from ${dist};
      await stopReusedContainers();
      console.log('after the stop');`);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('after the stop');
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});

it('errors are MayflyErrors', () => expect(isMayflyError(new Error('x'))).toBe(false));
