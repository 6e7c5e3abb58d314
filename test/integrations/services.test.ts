/**
 * The parts the Vitest and Jest integrations share, without a nested runner: named services started
 * all or none, the JSON form of a service, docblock pragmas, endpoints rebuilt from JSON, and the
 * Vitest globalSetup against a stand-in for Vitest's project.
 */
import { describe, expect, it } from 'vitest';
import { container, type StartedContainer } from '../../src/index.js';
import { harnessOptionsFromJson } from '../../src/integrations/json-service.js';
import { readJestOptions, servicesForFile } from '../../src/integrations/jest-options.js';
import { ServiceEndpoint, serviceRecord, type ServiceRecord } from '../../src/integrations/service-endpoint.js';
import { startServices } from '../../src/integrations/start-services.js';
import { mayflyFixtures } from '../../src/integrations/vitest.js';
import { mayflyGlobalSetup } from '../../src/integrations/vitest-global-setup.js';
import { BUSYBOX, caught } from '../support/runtime.js';

const web = (body: string) =>
  container()
    .withLayers(BUSYBOX)
    .withCommand(['sh', '-c', `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www`])
    .withExposedPorts(80);

const refused = (url: string) => fetch(url).then(() => false, () => true);

describe('startServices', () => {
  it('starts every service side by side: builders, options and functions', async () => {
    const s = await startServices({
      a: web('a'),
      b: { layers: [BUSYBOX], command: ['sh', '-c', 'mkdir -p /www && echo b > /www/index.html && exec httpd -f -p 80 -h /www'], exposedPorts: [80] },
      c: () => web('c'),
    });
    try {
      for (const n of ['a', 'b', 'c'] as const) expect(await (await fetch(s[n].url(80))).text()).toBe(`${n}\n`);
    } finally {
      await Promise.all(Object.values(s).map((c) => c.remove()));
    }
  });

  it('all or none: a failing service removes the others, and the error names it', async () => {
    let ok: StartedContainer | undefined;
    const e = await caught(
      startServices({
        ok: async () => (ok = await web('fine').start()),
        broken: container().withLayers(BUSYBOX).withCommand(['sh', '-c', 'echo no config >&2; exit 3']).withExposedPorts(80),
      }),
    );
    expect(e.message).toMatch(/^service broken: /);
    expect(e.message).toContain('no config');
    expect(e.details.service).toBe('broken');
    expect(ok!.container.status).toBe('removed');
  });
});

describe('a service as JSON', () => {
  it('takes startContainer options by their names, and wait as a small object', () => {
    const waits: [unknown, RegExp][] = [
      ['none', /./],
      ['healthcheck', /health/i],
      [{ ports: [6379] }, /6379/],
      [{ http: '/health', port: 8080, status: 204 }, /\/health/],
      [{ log: 'Ready to accept connections', times: 1 }, /Ready to accept connections/],
      [{ logPattern: 'ready( now)?$' }, /ready/],
      [{ command: 'pg_isready' }, /pg_isready/],
    ];
    for (const [wait, described] of waits) {
      const o = harnessOptionsFromJson({ image: 'redis:7', exposedPorts: [6379], env: { A: 'b' }, wait }, 'x');
      expect(o).toMatchObject({ image: 'redis:7', exposedPorts: [6379], env: { A: 'b' } });
      expect(o.wait!.describe()).toMatch(described);
    }
  });

  it('names every wrong field by its whole path', () => {
    const e = (() => {
      try {
        harnessOptionsFromJson({ image: 'redis:7', exposedPorts: [70000], wait: { http: 'health', port: 80 }, tmpfs: { rel: 'size=1m' } }, 'testEnvironmentOptions.mayfly.services.redis');
      } catch (err) {
        return err as Error;
      }
      throw new Error('expected an error');
    })();
    expect(e.message).toContain('testEnvironmentOptions.mayfly.services.redis.exposedPorts.0: ');
    expect(e.message).toContain('testEnvironmentOptions.mayfly.services.redis.tmpfs.rel: ');
    expect(e.message).toContain('testEnvironmentOptions.mayfly.services.redis.wait.http: Invalid string: must start with "/"');
    expect(() => harnessOptionsFromJson({ image: 'redis:7', wait: { sleep: 5 } }, 'svc')).toThrow(/svc\.wait: expected "none", "healthcheck", \{ "ports": \[\.\.\.\] \}/);
  });
});

describe('Jest options and docblocks', () => {
  const options = readJestOptions({ mayfly: { services: { redis: { image: 'redis:7' }, api: { image: 'nginx' } }, shared: { db: { image: 'postgres' } } } });

  it('a file gets the services its @mayfly pragmas name, every one without a pragma, none with an empty one', () => {
    expect(servicesForFile({}, options, 'a.test.js')).toEqual(['redis', 'api']);
    expect(servicesForFile({ mayfly: 'api' }, options, 'a.test.js')).toEqual(['api']);
    expect(servicesForFile({ mayfly: ['redis,api', 'redis'] }, options, 'a.test.js')).toEqual(['redis', 'api']);
    expect(servicesForFile({ mayfly: '' }, options, 'a.test.js')).toEqual([]);
    expect(() => servicesForFile({ mayfly: 'reds' }, options, 'a.test.js')).toThrow(/a\.test\.js: @mayfly names reds, which testEnvironmentOptions\.mayfly\.services does not define\n {2}hint: defined: redis, api/);
  });

  it('unknown keys and odd names are refused, naming the path', () => {
    expect(() => readJestOptions({ mayfly: { service: {} } })).toThrow(/testEnvironmentOptions\.mayfly[\s\S]*service/);
    expect(() => readJestOptions({ mayfly: { services: { 'my redis': { image: 'redis' } } } })).toThrow(/services\.my redis: a service name is a word/);
    expect(readJestOptions(undefined)).toEqual({ services: {}, shared: {} });
  });
});

describe('ServiceEndpoint', () => {
  const record: ServiceRecord = { name: 'c1', id: 'x', host: '127.0.0.1', ports: { '80': 41000, '53/udp': 41001 }, details: { password: 'p' } };

  it('answers host, port and url as a started container does; a port it lacks is an error naming those it has', () => {
    const e = new ServiceEndpoint('api', JSON.parse(JSON.stringify(record)) as ServiceRecord);
    expect(e.port(80)).toBe(41000);
    expect(e.url(80, 'health')).toBe('http://127.0.0.1:41000/health');
    expect(e.details.password).toBe('p');
    expect(() => e.port(8080)).toThrow(/container port 8080 of service api is not published\n {2}hint: published: 80, 53\/udp/);
    expect(new ServiceEndpoint('v6', { ...record, host: '::1' }).url(80)).toBe('http://[::1]:41000/');
  });

  it('a started container becomes the same record', async () => {
    await using c = await web('r').start();
    const r = serviceRecord(c, { a: 1 });
    expect(r).toEqual({ name: c.name, id: c.id, host: c.host, ports: { '80': c.port(80) }, details: { a: 1 } });
    expect(new ServiceEndpoint('web', r).url(80)).toBe(c.url(80));
  });
});

describe('mayflyFixtures and mayflyGlobalSetup', () => {
  it('fixtures are [fn, { scope }] pairs whose fn destructures its first parameter (Vitest requires it)', () => {
    const f = mayflyFixtures({ a: web('a') }, { scope: 'file' });
    expect(f.a[1]).toEqual({ scope: 'file' });
    expect(f.a[0].toString()).toMatch(/^async \(\{\s*\}, use\)/);
    expect(() => mayflyFixtures({}, { scope: 'suite' as never })).toThrow(/scope must be 'test', 'file' or 'worker'/);
  });

  it('the globalSetup provides JSON records (with details), adds to what was provided, and its teardown removes the services', async () => {
    let provided: Record<string, ServiceRecord> = { earlier: { name: 'e', id: 'e', host: 'h', ports: {}, details: {} } };
    const project = {
      provide: (key: 'mayfly', value: Record<string, ServiceRecord>) => {
        expect(key).toBe('mayfly');
        provided = value;
      },
      getProvidedContext: () => ({ mayfly: provided }),
    };
    const teardown = await mayflyGlobalSetup({ api: web('shared'), db: { container: web('db'), details: (c) => ({ url: c.url(80, '/db') }) } })(project);
    expect(Object.keys(provided).sort()).toEqual(['api', 'db', 'earlier']);
    const api = new ServiceEndpoint('api', provided.api!);
    expect(await (await fetch(api.url(80))).text()).toBe('shared\n');
    expect(provided.db!.details.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/db$/);
    await teardown();
    expect(await refused(api.url(80))).toBe(true);
  });

  it('a failing service fails the globalSetup, named, with nothing left running', async () => {
    let ok: StartedContainer | undefined;
    const e = await caught(
      mayflyGlobalSetup({
        ok: async () => (ok = await web('ok').start()),
        broken: container().withLayers(BUSYBOX).withCommand(['false']).withExposedPorts(80),
      })({ provide: () => {} }),
    );
    expect(e.message).toMatch(/^mayflyGlobalSetup: service broken: /);
    expect(ok!.container.status).toBe('removed');
  });
});
