import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadComposeProject, parseDuration, splitCommand, type LoadOptions } from './compose-file.js';
import { parseEnvText } from './env-files.js';
import { interpolate } from './interpolation.js';
import { planServices } from './project.js';
import { servicePlan } from './service-options.js';
import { enabledServices, orderServices } from './service-selection.js';

const scratch = mkdtempSync(join(tmpdir(), 'mayfly-compose-file-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

/** A project directory with these files (compose.yaml among them, or `files` naming the main one). */
function project(files: Record<string, string>, opts: LoadOptions = {}) {
  const dir = mkdtempSync(join(scratch, 'My Project!-'));
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), c);
  }
  return loadComposeProject({ cwd: dir, projectName: 'proj', ...opts });
}
const one = (yaml: string, more: Record<string, string> = {}, opts: LoadOptions = {}) => project({ 'compose.yaml': yaml, ...more }, opts);
const said: string[] = [];
const plans = (p: ReturnType<typeof project>, targets: string[] = []) => planServices(p, targets, { say: (l) => said.push(l) });

describe('a service as container options', () => {
  it('ports, volumes, tmpfs, env (env_file first), networks with the service name as alias, healthcheck, limits', () => {
    const p = one(
      `
services:
  db:
    image: postgres:\${PG_TAG:-16}
    environment: { POSTGRES_PASSWORD: pw, N: 5 }
    env_file: [db.env, { path: missing.env, required: false }]
    ports: ["5432", "127.0.0.1:15432:5432", "9000-9001:9000-9001/udp", "[::1]::6000", { target: 7000, published: "17000", host_ip: 127.0.0.2 }]
    expose: [3000-3001, "4000/tcp"]
    volumes: ["data:/var/lib/postgresql/data", "./init:/docker-entrypoint-initdb.d:ro,z", "/scratch", { type: tmpfs, target: /cache, tmpfs: { size: 64m, mode: 0700 } }]
    tmpfs: /run:size=16m
    shm_size: 256m
    networks: { back: { aliases: [database] } }
    healthcheck: { test: "pg_isready", interval: 1s, retries: 5 }
    stop_grace_period: 1m30s
    command: postgres -c 'log_min_messages=debug 1'
    deploy: { resources: { limits: { cpus: "1.5", memory: 1.5G, pids: 100 } } }
networks: { back: {} }
volumes: { data: {} }
`,
      { 'db.env': '# comment\nFROM_FILE="yes"\nPOSTGRES_PASSWORD=from-file\n' },
    );
    const s = servicePlan(p, 'db');
    expect(s.options).toMatchObject({
      image: 'postgres:16',
      name: 'proj-db-1',
      env: { POSTGRES_PASSWORD: 'pw', N: '5', FROM_FILE: 'yes' },
      ports: [
        { containerPort: 5432, hostPort: 0 },
        { hostIp: '127.0.0.1', hostPort: 15432, containerPort: 5432, protocol: 'tcp' },
        { hostPort: 9000, containerPort: 9000, protocol: 'udp' },
        { hostPort: 9001, containerPort: 9001, protocol: 'udp' },
        { hostIp: '::1', hostPort: 0, containerPort: 6000 },
        { hostIp: '127.0.0.2', hostPort: 17000, containerPort: 7000 },
      ],
      exposedPorts: [3000, 3001, 4000],
      volumes: [{ name: 'proj_data', target: '/var/lib/postgresql/data', readonly: false }],
      binds: [{ source: join(p.dir, 'init'), target: '/docker-entrypoint-initdb.d', readonly: true }],
      tmpfs: [{ path: '/cache', size: '64m', mode: 0o700 }, { path: '/run', size: '16m' }, { path: '/dev/shm', size: '256m', mode: 0o1777 }],
      anonymousVolumes: ['/scratch'],
      network: 'proj_back',
      networkAliases: ['db', 'database'],
      stopTimeout: 90,
      command: ['postgres', '-c', 'log_min_messages=debug 1'],
      limits: { cpus: 1.5, memory: '1.5G', pids: 100 },
    });
    expect(s.healthcheck).toEqual({ test: ['CMD-SHELL', 'pg_isready'], interval: 1e9, retries: 5 });
    expect(s.createHostPaths).toEqual([join(p.dir, 'init')]);
  });

  it('build: the image name is `image` when given; dockerfile against the context; args from the environment', () => {
    process.env.FROM_ENV = 'env-value';
    const p = one(`
services:
  app:
    image: registry.local/app:dev
    build: { context: ./src, dockerfile: docker/Dockerfile, target: runtime, args: [FROM_ENV, PLAIN=1] }
  other: { build: ., cpu_quota: 50000, pull_policy: build }
`);
    expect(servicePlan(p, 'app').build).toEqual({ tag: 'registry.local/app:dev', tags: [], secrets: [], context: join(p.dir, 'src'), dockerfile: join(p.dir, 'src/docker/Dockerfile'), target: 'runtime', args: { FROM_ENV: 'env-value', PLAIN: '1' }, labels: {}, noCache: false, pull: false });
    expect(servicePlan(p, 'app').options).toMatchObject({ image: 'registry.local/app:dev', pull: 'never' });
    expect(servicePlan(p, 'other')).toMatchObject({ build: { tag: 'proj-other' }, pullPolicy: 'build', options: { limits: { cpus: 0.5 } } });
  });

  it('links give aliases and an order; volumes_from shares named volumes and binds; network_mode host; gw_priority picks the first network', () => {
    const p = one(`
services:
  db: { image: x, volumes: ["data:/data", "./conf:/conf"], networks: [a, b] }
  web: { image: x, links: ["db:database"], volumes_from: ["db:ro"], networks: { a: {}, b: { gw_priority: 10 } } }
  tool: { image: x, network_mode: host, ports: ["80:80"] }
networks: { a: {}, b: {} }
volumes: { data: {} }
`);
    expect(servicePlan(p, 'db').options).toMatchObject({ network: 'proj_a', networkAliases: ['db', 'database'], networks: [{ name: 'proj_b', aliases: ['db', 'database'] }] });
    expect(servicePlan(p, 'web').options).toMatchObject({
      network: 'proj_b',
      volumes: [{ name: 'proj_data', target: '/data', readonly: true }],
      binds: [{ source: join(p.dir, 'conf'), target: '/conf', readonly: true }],
    });
    expect(orderServices(p, ['web'])).toEqual(['db', 'web']);
    const tool = servicePlan(p, 'tool');
    expect(tool.options.network).toBe('host');
    expect(tool.options.ports).toEqual([]);
    expect(tool.warnings.join()).toMatch(/not published with network_mode host/);
  });

  it('a healthcheck may only tune the image’s, or disable it', () => {
    const p = one(`
services:
  a: { image: x, healthcheck: { interval: 2s, start_period: 500ms } }
  b: { image: x, healthcheck: { test: ["NONE"] } }
  c: { image: x, healthcheck: { disable: true } }
`);
    expect(servicePlan(p, 'a').healthcheck).toEqual({ interval: 2e9, startPeriod: 5e8 });
    expect(servicePlan(p, 'b').healthcheck).toEqual({ disabled: true });
    expect(servicePlan(p, 'c').healthcheck).toEqual({ disabled: true });
  });
});

describe('secrets and configs', () => {
  it('from a file, the environment or inline content; default and relative targets; octal modes', () => {
    process.env.API_TOKEN = 't0ken';
    const p = one(
      `
services:
  app:
    image: x
    secrets: [db-password, { source: token, target: api-token, mode: 0400 }, { source: db-password, target: /etc/app/pw, uid: "0", mode: "0440" }]
    configs: [nginx, { source: inline, target: /etc/app.conf }]
secrets:
  db-password: { file: ./db/password.txt }
  token: { environment: API_TOKEN }
configs:
  nginx: { file: nginx.conf }
  inline: { content: "port = \${APP_PORT:-8080}" }
`,
      { 'db/password.txt': 's3cret\n', 'nginx.conf': 'events {}\n' },
    );
    expect(servicePlan(p, 'app').files).toEqual([
      { kind: 'secret', name: 'db-password', target: '/run/secrets/db-password', source: { file: join(p.dir, 'db/password.txt') } },
      { kind: 'secret', name: 'token', target: '/run/secrets/api-token', source: { content: 't0ken', from: '$API_TOKEN' }, mode: 0o400 },
      { kind: 'secret', name: 'db-password', target: '/etc/app/pw', source: { file: join(p.dir, 'db/password.txt') }, mode: 0o440, uid: 0 },
      { kind: 'config', name: 'nginx', target: '/nginx', source: { file: join(p.dir, 'nginx.conf') } },
      { kind: 'config', name: 'inline', target: '/etc/app.conf', source: { content: 'port = 8080', from: 'content' } },
    ]);
  });

  it('a secret that is not defined, or whose variable is unset, is named', () => {
    expect(() => servicePlan(one('services:\n  a: { image: x, secrets: [nope] }\n'), 'a')).toThrow(/service a uses secret nope, which is not defined in the top-level secrets/);
    expect(() => servicePlan(one('services:\n  a: { image: x, secrets: [s] }\nsecrets:\n  s: { environment: SURELY_UNSET_VAR }\n'), 'a')).toThrow(/SURELY_UNSET_VAR, which is not set/);
  });
});

describe('the YAML people write', () => {
  it('anchors, aliases and << merge keys; x- extension fields at the top, in services and in nested mappings', () => {
    const p = one(`
x-common: &common
  image: base:1
  environment: &env { TZ: UTC, LEVEL: info }
  restart: unless-stopped
  x-note: ignored
services:
  api:
    <<: *common
    environment:
      <<: *env
      LEVEL: debug
    healthcheck: { test: ["CMD", "true"], x-why: "extension inside a nested mapping" }
    build: { context: ., x-cache: yes }
  worker:
    <<: *common
    command: ["run"]
`);
    expect(servicePlan(p, 'api').options).toMatchObject({ image: 'base:1', env: { TZ: 'UTC', LEVEL: 'debug' } });
    expect(servicePlan(p, 'worker').options).toMatchObject({ image: 'base:1', env: { TZ: 'UTC', LEVEL: 'info' }, command: ['run'] });
  });

  it('interpolation: defaults, required, replacement, nesting, $$, and a warning for each unset variable', () => {
    const ctx = (vars: Record<string, string>) => ({ vars, where: 'f', unset: new Set<string>() });
    const c = ctx({ Y: '', Z: 'z', INNER: 'in' });
    expect(interpolate({ a: ['$$HOME', '${X-def}', '${Y:-d2}', '$X', '${Z:+set}', '${Y+set}', '${X:-${INNER}-x}', 'a$', '${Z}${Z}'] }, c)).toEqual({ a: ['$HOME', 'def', 'd2', '', 'set', 'set', 'in-x', 'a$', 'zz'] });
    expect([...c.unset]).toEqual(['X']);
    expect(() => interpolate('${Q:?tell me}', ctx({}))).toThrow(/Q is required: tell me/);
    expect(() => interpolate('${oops', ctx({}))).toThrow(/without its closing/);
    const p = one('services:\n  a: { image: "x:${SURELY_UNSET_TAG}" }\n');
    expect(p.warnings).toContain('the SURELY_UNSET_TAG variable is not set: it stands for an empty string');
  });

  it('.env is read for interpolation; the environment wins; dotenv quoting', () => {
    process.env.FROM_SHELL = 'shell';
    const p = one('services:\n  a: { image: "x:${TAG}", environment: ["A=${FROM_SHELL}", "B=${QUOTED}", "C=${MULTI}"] }\n', {
      '.env': 'TAG=1.2\nFROM_SHELL=dotenv\nexport QUOTED="a \\"b\\" ${TAG}" # comment\nMULTI=\'one\ntwo\'\n',
    });
    expect(servicePlan(p, 'a').options).toMatchObject({ image: 'x:1.2', env: { A: 'shell', B: 'a "b" 1.2', C: 'one\ntwo' } });
    expect(parseEnvText("RAW=keep 'this' # too\n", 'f', {}, true)).toEqual({ RAW: "keep 'this' # too" });
    expect(() => parseEnvText('not a line\n', 'f')).toThrow(/f line 1: expected KEY=VALUE/);
  });

  it('durations and command splitting', () => {
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(() => parseDuration('soon')).toThrow(/duration/);
    expect(splitCommand(`sh -c "echo 'a b' \\"c\\""`)).toEqual(['sh', '-c', `echo 'a b' "c"`]);
    expect(() => splitCommand('echo "unclosed')).toThrow(/unterminated quote/);
  });
});

describe('several files', () => {
  it('extends: from this file and from another one (its paths relative to it); mappings merge, commands replace, mounts unique by target', () => {
    const p = project({
      'compose.yaml': `
services:
  base: { image: app:1, environment: { A: "1", B: "1" }, command: [serve], volumes: ["./here:/data", "logs:/logs"] }
  web:
    extends: base
    environment: { B: "2" }
    command: [serve, --port, "80"]
    volumes: ["./there:/data"]
  worker:
    extends: { file: common/services.yaml, service: job }
    environment: { EXTRA: "yes" }
volumes: { logs: {} }
`,
      'common/services.yaml': `
services:
  job:
    extends: runner
    env_file: job.env
  runner: { build: ./runner, labels: { team: core } }
`,
      'common/job.env': 'FROM_JOB_ENV=1\n',
    });
    expect(servicePlan(p, 'web').options).toMatchObject({
      image: 'app:1',
      env: { A: '1', B: '2' },
      command: ['serve', '--port', '80'],
      binds: [{ source: join(p.dir, 'there'), target: '/data' }],
      volumes: [{ name: 'proj_logs', target: '/logs' }],
    });
    const worker = servicePlan(p, 'worker');
    expect(worker.build?.context).toBe(join(p.dir, 'common/runner'));
    expect(worker.options.env).toEqual({ FROM_JOB_ENV: '1', EXTRA: 'yes' });
    expect(worker.options.labels).toMatchObject({ team: 'core' });
  });

  it('extends cycles and missing services are named', () => {
    expect(() => one('services:\n  a: { extends: b, image: x }\n  b: { extends: a }\n')).toThrow(/extends cycle: a → b → a|extends cycle: b → a → b/);
    expect(() => one('services:\n  a: { extends: nope, image: x }\n')).toThrow(/a extends nope, which is not defined/);
  });

  it('compose.override.yaml is merged over compose.yaml; -f files in order; !reset and !override', () => {
    const p = project({
      'compose.yaml': 'services:\n  web: { image: app:1, ports: ["80"], environment: [A=1], depends_on: [db] }\n  db: { image: db }\n',
      'compose.override.yaml': 'services:\n  web: { environment: { B: "2" }, ports: !override ["8080:80"], depends_on: !reset [] }\n',
    });
    expect(p.files.map((f) => f.split('/').pop())).toEqual(['compose.yaml', 'compose.override.yaml']);
    const web = servicePlan(p, 'web');
    expect(web.options.env).toEqual({ A: '1', B: '2' });
    expect(web.options.ports).toEqual([{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(web.dependsOn).toEqual([]);
    const q = project({ 'a.yaml': 'services:\n  s: { image: one }\n', 'b.yaml': 'services:\n  s: { image: two }\n' }, { files: ['b.yaml', 'a.yaml'] });
    expect(servicePlan(q, 's').options.image).toBe('one');
  });

  it('include: the included project’s paths stay relative to it; a name defined twice is an error', () => {
    const p = project({
      'compose.yaml': 'include: [db/compose.yaml]\nservices:\n  app: { image: app, depends_on: [db] }\n',
      'db/compose.yaml': 'services:\n  db: { image: "postgres:${PG:-16}", env_file: db.env, volumes: ["./init:/init"] }\n',
      'db/.env': 'PG=15\n',
      'db/db.env': 'X=1\n',
    });
    expect(servicePlan(p, 'db').options).toMatchObject({ image: 'postgres:15', env: { X: '1' }, binds: [{ source: join(p.dir, 'db/init'), target: '/init' }] });
    expect(orderServices(p)).toEqual(['db', 'app']);
    expect(() => project({ 'compose.yaml': 'include: [other.yaml]\nservices:\n  db: { image: a }\n', 'other.yaml': 'services:\n  db: { image: b }\n' })).toThrow(/services\.db is defined here and in the included/);
  });
});

describe('profiles', () => {
  const yaml = `
services:
  app: { image: app, depends_on: [db] }
  db: { image: db }
  debug: { image: tools, profiles: [debug], depends_on: [db] }
  seed: { image: tools, profiles: [tools], depends_on: [db] }
  admin: { image: tools, profiles: [admin], depends_on: [seed] }
`;
  it('services without profiles are always on; --profile and COMPOSE_PROFILES turn others on; a named service is on with what it needs', () => {
    expect([...enabledServices(one(yaml))].sort()).toEqual(['app', 'db']);
    expect([...enabledServices(one(yaml, {}, { profiles: ['debug'] }))].sort()).toEqual(['app', 'db', 'debug']);
    process.env.COMPOSE_PROFILES = 'tools,debug';
    expect([...enabledServices(one(yaml))].sort()).toEqual(['app', 'db', 'debug', 'seed']);
    delete process.env.COMPOSE_PROFILES;
    expect(orderServices(one(yaml), ['admin'])).toEqual(['db', 'seed', 'admin']);
    expect(orderServices(one(yaml, {}, { profiles: ['*'] }))).toEqual(['db', 'app', 'debug', 'seed', 'admin']);
  });

  it('depending on a service that is off is an error naming its profile, unless the dependency is optional', () => {
    const p = one('services:\n  app: { image: a, depends_on: [db] }\n  db: { image: d, profiles: [storage] }\n');
    expect(() => orderServices(p)).toThrow(/app depends on db, which is only in profile storage/);
    const q = one('services:\n  app: { image: a, depends_on: { db: { condition: service_started, required: false } } }\n  db: { image: d, profiles: [storage] }\n');
    const warnings: string[] = [];
    expect(orderServices(q, [], { warn: (w) => warnings.push(w) })).toEqual(['app']);
    expect(warnings.join()).toMatch(/optional dependency db is left out/);
  });
});

describe('what is refused, and why', () => {
  const refusal = (yaml: string) => {
    try {
      plans(one(yaml));
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('not refused');
  };
  it('each refused key is named with its reason, all of them at once', () => {
    const m = refusal(`
services:
  a:
    image: x
    runtime: io.containerd.wasmedge.v1
    platform: wasi/wasm32
    devices: ["/dev/fuse:/dev/fuse"]
    pid: host
    network_mode: "service:b"
    cap_add: [NET_ADMIN]
    sysctls: { net.core.somaxconn: 1024 }
    security_opt: ["seccomp=./profile.json"]
    scale: 3
  b:
    image: x
    networks: { n: { ipv4_address: 172.20.0.2 } }
networks:
  n: { driver: overlay, ipam: { config: [{ subnet: 172.20.0.0/24 }] } }
secrets:
  s: { external: true }
`);
    for (const line of [
      /service a: runtime: io\.containerd\.wasmedge\.v1 is not mayfly’s/,
      /service a: platform: wasi\/wasm32 is not a platform mayfly runs here/,
      /service a: devices: device nodes cannot be created/,
      /service a: pid: sharing the host’s pid namespace is not possible/,
      /service a: network_mode: "service:b": sharing another container’s network namespace/,
      /service a: sysctls: .*does not set sysctls yet/,
      /service a: security_opt: "seccomp=.\/profile.json" is not supported/,
      /service a: scale: mayfly runs one container per service/,
      /service b: networks\.n\.ipv4_address: fixed addresses are not supported/,
      /network n: driver: "overlay" is not supported/,
      /network n: ipam: /,
      /secrets s: external: /,
    ]) {
      expect(m).toMatch(line);
    }
  });

  it('what means nothing here is accepted with one warning; defaults of refused switches are fine', () => {
    said.length = 0;
    plans(one(`
services:
  a:
    image: x
    restart: always
    logging: { driver: json-file }
    deploy: { restart_policy: { condition: on-failure }, replicas: 1 }
    privileged: false
    cap_add: []
    security_opt: ["no-new-privileges:true"]
    platform: linux/${process.arch === 'arm64' ? 'arm64' : 'amd64'}
`));
    expect(said).toEqual([
      'warning: service a: restart is ignored (containers are not restarted by a daemon here)',
      'warning: service a: logging is ignored (output always goes to the container log (mayfly logs))',
      'warning: service a: deploy.restart_policy is ignored (containers are not restarted by a daemon here)',
    ]);
  });

  it('a refused key of a service that is off does not stop the others', () => {
    expect(plans(one('services:\n  a: { image: x }\n  vpn: { image: y, profiles: [vpn], cap_add: [NET_ADMIN] }\n')).map((s) => s.service)).toEqual(['a']);
  });

  it('unknown keys are typos: named with their place', () => {
    expect(() => one('services:\n  web:\n    image: nginx\n    portz: ["80"]\n')).toThrow(/services\.web: Unrecognized key: "portz" \(did you mean ports\?\)/);
    expect(() => one('servces:\n  web: {}\n')).toThrow(/\(top level\): Unrecognized key: "servces" \(did you mean services\?\)/);
    expect(() => one('services:\n  web:\n    image: nginx\n    healthcheck: { tset: x }\n')).toThrow(/services\.web\.healthcheck.*tset/s);
    expect(() => plans(one('services:\n  web:\n    image: nginx\n    depends_on: [db]\n'))).toThrow(/depends on db, which is not defined/);
    expect(() => servicePlan(one('services:\n  web: {}\n'), 'web')).toThrow(/needs an image or a build/);
    expect(() => one('services:\n  web:\n    image: ${REQUIRED_TAG:?set it}\n')).toThrow(/REQUIRED_TAG is required: set it/);
    expect(() => servicePlan(one('services:\n  web: { image: x, volumes: ["data:/d"] }\n'), 'web')).toThrow(/volume data, which is not declared in the top-level volumes/);
    expect(() => servicePlan(one('services:\n  web: { image: x, networks: [back] }\n'), 'web')).toThrow(/joins network back, which is not declared/);
  });
});
