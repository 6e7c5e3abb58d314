import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMayflyError, type MayflyError } from '../core/errors.js';
import { parseReference } from './reference.js';
import {
  isLoopbackRegistry,
  loadRegistryConfig,
  mergeRegistryConfigs,
  parseRegistryConfigFile,
  registryConfigFromEnv,
  resolveEndpoints,
  type RegistryConfig,
} from './registry-config.js';

const sha = 'sha256:' + 'b2'.repeat(32);
const config = (c: Partial<RegistryConfig>): RegistryConfig => ({ mirrors: {}, rewrites: [], insecure: [], ...c });

function thrown(fn: () => unknown): MayflyError {
  try {
    fn();
  } catch (e) {
    if (isMayflyError(e)) return e;
    throw e;
  }
  throw new Error('expected a MayflyError');
}

describe('resolveEndpoints', () => {
  const cases: Array<[string, string, RegistryConfig, Array<[string, string, 'http' | 'https', boolean]>]> = [
    ['no settings: the upstream over https', 'mongo:7', config({}), [['docker.io', 'library/mongo', 'https', false]]],
    ['other registries', 'ghcr.io/o/r:1', config({}), [['ghcr.io', 'o/r', 'https', false]]],
    [
      'mirrors in order, then the upstream; loopback mirrors over http',
      'mongo',
      config({ mirrors: { 'docker.io': ['127.0.0.1:5000', 'mirror.example.com'] } }),
      [
        ['127.0.0.1:5000', 'library/mongo', 'http', true],
        ['mirror.example.com', 'library/mongo', 'https', true],
        ['docker.io', 'library/mongo', 'https', false],
      ],
    ],
    [
      'digests go through mirrors too',
      `mongo@${sha}`,
      config({ mirrors: { 'docker.io': ['localhost:5000'] } }),
      [
        ['localhost:5000', 'library/mongo', 'http', true],
        ['docker.io', 'library/mongo', 'https', false],
      ],
    ],
    ['mirrors of other registries do not apply', 'ghcr.io/o/r', config({ mirrors: { 'docker.io': ['localhost:5000'] } }), [['ghcr.io', 'o/r', 'https', false]]],
    [
      'an explicit scheme on a mirror wins',
      'mongo',
      config({ mirrors: { 'docker.io': ['http://mirror.local:5000', 'https://127.0.0.1:5443'] } }),
      [
        ['mirror.local:5000', 'library/mongo', 'http', true],
        ['127.0.0.1:5443', 'library/mongo', 'https', true],
        ['docker.io', 'library/mongo', 'https', false],
      ],
    ],
    [
      'duplicate mirrors and a mirror equal to the upstream are dropped',
      'ghcr.io/o/r',
      config({ mirrors: { 'ghcr.io': ['m.io', 'm.io', 'ghcr.io'] } }),
      [
        ['m.io', 'o/r', 'https', true],
        ['ghcr.io', 'o/r', 'https', false],
      ],
    ],
    ['insecure host:port', 'reg.corp:5000/a/b', config({ insecure: ['reg.corp:5000'] }), [['reg.corp:5000', 'a/b', 'http', false]]],
    ['insecure host covers every port', 'reg.corp:5000/a/b', config({ insecure: ['reg.corp'] }), [['reg.corp:5000', 'a/b', 'http', false]]],
    ['insecure host:port does not cover another port', 'reg.corp:6000/a/b', config({ insecure: ['reg.corp:5000'] }), [['reg.corp:6000', 'a/b', 'https', false]]],
    ['loopback: localhost', 'localhost:5000/x', config({}), [['localhost:5000', 'x', 'http', false]]],
    ['loopback: 127.0.0.0/8', '127.1.2.3:5000/x', config({}), [['127.1.2.3:5000', 'x', 'http', false]]],
    ['loopback: [::1]', '[::1]:5000/x', config({}), [['[::1]:5000', 'x', 'http', false]]],
    [
      'a rewrite replaces the location; the original registry is not tried',
      'mongo:7',
      config({ rewrites: [{ from: 'docker.io/library/', to: '127.0.0.1:5000/mirror/' }] }),
      [['127.0.0.1:5000', 'mirror/mongo', 'http', false]],
    ],
    [
      'rewrite first, then the mirrors of the rewritten registry',
      'mongo',
      config({ rewrites: [{ from: 'docker.io/', to: 'reg.corp/hub/' }], mirrors: { 'reg.corp': ['localhost:5001'], 'docker.io': ['never.io'] } }),
      [
        ['localhost:5001', 'hub/library/mongo', 'http', true],
        ['reg.corp', 'hub/library/mongo', 'https', false],
      ],
    ],
    [
      'the longest matching rewrite wins',
      'mongo',
      config({ rewrites: [{ from: 'docker.io/', to: 'a.io/' }, { from: 'docker.io/library/mongo', to: 'b.io/db/mongo' }] }),
      [['b.io', 'db/mongo', 'https', false]],
    ],
    [
      'a rewrite matches at a path boundary only',
      'mongo-express',
      config({ rewrites: [{ from: 'docker.io/library/mongo', to: 'b.io/db/mongo' }] }),
      [['docker.io', 'library/mongo-express', 'https', false]],
    ],
    [
      'a rewrite may name Docker Hub by its legacy name',
      'mongo',
      config({ rewrites: [{ from: 'index.docker.io/library/', to: 'localhost:5000/' }] }),
      [['localhost:5000', 'mongo', 'http', false]],
    ],
  ];
  it.each(cases)('%s', (_what, reference, cfg, expected) => {
    const endpoints = resolveEndpoints(parseReference(reference), cfg);
    expect(endpoints).toEqual(expected.map(([registry, repository, scheme, mirror]) => ({ registry, repository, scheme, mirror })));
  });

  it('reports a rewrite that produces no image name', () => {
    const cfg = config({ rewrites: [{ from: 'docker.io/library/', to: 'localhost:5000' }] });
    const error = thrown(() => resolveEndpoints(parseReference('mongo'), cfg));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('docker.io/library/ → localhost:5000');
  });
});

describe('isLoopbackRegistry', () => {
  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1', true],
    ['127.255.0.9:80', true],
    ['[::1]:5000', true],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['127.0.0.1.nip.io:5000', false],
    ['docker.io', false],
  ])('%s → %s', (registry, loopback) => expect(isLoopbackRegistry(registry)).toBe(loopback));
});

describe('config file', () => {
  const file = '/home/u/.cache/mayfly/config.json';

  it('reads the registries section and ignores other sections', () => {
    const parsed = parseRegistryConfigFile(
      {
        other: { anything: true },
        registries: {
          mirrors: { 'index.docker.io': ['127.0.0.1:5000'] },
          rewrites: [{ from: 'docker.io/library/', to: '127.0.0.1:5000/mirror/' }],
          insecure: ['reg.corp:5000'],
        },
      },
      file,
    );
    expect(parsed).toEqual({
      mirrors: { 'docker.io': ['127.0.0.1:5000'] },
      rewrites: [{ from: 'docker.io/library/', to: '127.0.0.1:5000/mirror/' }],
      insecure: ['reg.corp:5000'],
    });
    expect(parseRegistryConfigFile({}, file)).toEqual({});
  });

  it.each([
    ['a mirror that is not a host', { mirrors: { 'docker.io': ['not a host'] } }, 'registries.mirrors.docker.io.0'],
    ['mirrors not a list', { mirrors: { 'docker.io': '127.0.0.1:5000' } }, 'registries.mirrors.docker.io'],
    ['a mirror key that is not a registry', { mirrors: { 'http://docker.io': [] } }, 'registries.mirrors.http://docker.io'],
    ['an unknown field (a typo)', { mirror: {} }, 'registries'],
    ['a rewrite without "to"', { rewrites: [{ from: 'docker.io/' }] }, 'registries.rewrites.0.to'],
    ['a rewrite with a tag', { rewrites: [{ from: 'docker.io/library/mongo:7', to: 'x.io/m' }] }, 'registries.rewrites.0.from'],
    ['an insecure entry with a scheme', { insecure: ['http://reg:5000'] }, 'registries.insecure.0'],
  ])('rejects %s, naming the file and the field', (_what, registries, field) => {
    const error = thrown(() => parseRegistryConfigFile({ registries }, file));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain(file);
    expect(error.message).toContain(`  ${field}: `);
  });

  const dir = mkdtempSync(join(tmpdir(), 'mayfly-registry-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the file, then the environment over it', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(path, JSON.stringify({ registries: { mirrors: { 'docker.io': ['file.io'], 'ghcr.io': ['g.io'] }, insecure: ['a.io'] } }));
    const cfg = await loadRegistryConfig({
      file: path,
      env: { MAYFLY_REGISTRY_MIRRORS: 'docker.io=127.0.0.1:5000', MAYFLY_INSECURE_REGISTRIES: 'b.io' },
    });
    expect(cfg).toEqual({ mirrors: { 'docker.io': ['127.0.0.1:5000'], 'ghcr.io': ['g.io'] }, rewrites: [], insecure: ['a.io', 'b.io'] });
  });

  it('finds config.json in MAYFLY_HOME; a missing file is no settings', async () => {
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ registries: { insecure: ['c.io'] } }));
    expect((await loadRegistryConfig({ env: { MAYFLY_HOME: dir } })).insecure).toEqual(['c.io']);
    expect(await loadRegistryConfig({ file: join(dir, 'absent.json'), env: {} })).toEqual({ mirrors: {}, rewrites: [], insecure: [] });
  });

  it('reports a file that is not JSON', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{ "registries": ');
    await expect(loadRegistryConfig({ file: path, env: {} })).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining(`${path} is not valid JSON`) });
  });
});

describe('environment', () => {
  it('parses mirrors, repeated registries, insecure registries and rewrites', () => {
    expect(
      registryConfigFromEnv({
        MAYFLY_REGISTRY_MIRRORS: 'docker.io=127.0.0.1:5000, ghcr.io=mirror.local:5000,docker.io=http://m2:80',
        MAYFLY_INSECURE_REGISTRIES: 'reg.corp:5000, other',
        MAYFLY_REGISTRY_REWRITES: 'docker.io/library/=127.0.0.1:5000/mirror/',
      }),
    ).toEqual({
      mirrors: { 'docker.io': ['127.0.0.1:5000', 'http://m2:80'], 'ghcr.io': ['mirror.local:5000'] },
      insecure: ['reg.corp:5000', 'other'],
      rewrites: [{ from: 'docker.io/library/', to: '127.0.0.1:5000/mirror/' }],
    });
    expect(registryConfigFromEnv({ MAYFLY_REGISTRY_MIRRORS: '' })).toEqual({});
  });

  it.each([
    [{ MAYFLY_REGISTRY_MIRRORS: '127.0.0.1:5000' }, 'MAYFLY_REGISTRY_MIRRORS: "127.0.0.1:5000" is not of the form KEY=VALUE'],
    [{ MAYFLY_REGISTRY_MIRRORS: 'docker.io=bad host' }, '$MAYFLY_REGISTRY_MIRRORS'],
    [{ MAYFLY_INSECURE_REGISTRIES: 'a.io,b a d' }, '$MAYFLY_INSECURE_REGISTRIES'],
  ])('names the variable of a bad value: %j', (env, fragment) => {
    const error = thrown(() => registryConfigFromEnv(env));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain(fragment);
  });
});

describe('mergeRegistryConfigs', () => {
  it('lets later rewrites win over earlier ones of the same length', () => {
    const merged = mergeRegistryConfigs({ rewrites: [{ from: 'docker.io/', to: 'early.io/' }] }, { rewrites: [{ from: 'docker.io/', to: 'late.io/' }] });
    expect(resolveEndpoints(parseReference('mongo'), merged)[0]).toMatchObject({ registry: 'late.io', repository: 'library/mongo' });
  });
});
