import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpolate, loadComposeFile, parseDuration, splitCommand } from './compose-file.js';
import { servicePlan } from './service-options.js';

const scratch = mkdtempSync(join(tmpdir(), 'mayfly-compose-file-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function project(yaml: string, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(scratch, 'My Project!-'));
  writeFileSync(join(dir, 'compose.yaml'), yaml);
  for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
  return loadComposeFile(join(dir, 'compose.yaml'), 'proj');
}

describe('compose files', () => {
  it('turns a service into container options: ports, volumes, tmpfs, env, networks with the service name as alias', () => {
    const p = project(
      `
services:
  db:
    image: postgres:\${PG_TAG:-16}
    environment: { POSTGRES_PASSWORD: pw, N: 5 }
    env_file: db.env
    ports: ["5432", "127.0.0.1:15432:5432"]
    volumes: ["data:/var/lib/postgresql/data", "./init:/docker-entrypoint-initdb.d:ro", "/scratch"]
    tmpfs: /run
    networks: { back: { aliases: [database] } }
    healthcheck: { test: "pg_isready", interval: 1s, retries: 5 }
    stop_grace_period: 1m30s
    command: postgres -c 'log_min_messages=debug 1'
    restart: always
networks: { back: {} }
volumes: { data: {} }
`,
      { 'db.env': '# comment\nFROM_FILE="yes"\n' },
    );
    expect(p.warnings).toEqual(['service db: "restart" is ignored (containers are throwaway here)']);
    const s = servicePlan(p, 'db');
    expect(s.options).toMatchObject({
      image: 'postgres:16',
      name: 'proj-db-1',
      env: { POSTGRES_PASSWORD: 'pw', N: '5', FROM_FILE: 'yes' },
      ports: [{ containerPort: 5432 }, { hostIp: '127.0.0.1', hostPort: 15432, containerPort: 5432 }],
      volumes: [{ name: 'proj_data', target: '/var/lib/postgresql/data', readonly: false }],
      binds: [{ source: join(p.dir, 'init'), target: '/docker-entrypoint-initdb.d', readonly: true }],
      tmpfs: [{ path: '/scratch' }, { path: '/run' }],
      network: 'proj_back',
      networkAliases: ['db', 'database'],
      stopTimeout: 90,
      command: ['postgres', '-c', 'log_min_messages=debug 1'],
    });
    expect(s.healthcheck).toEqual({ test: ['CMD-SHELL', 'pg_isready'], interval: 1e9, retries: 5 });
  });

  it('errors name the service and the key', () => {
    expect(() => project('services:\n  web:\n    image: nginx\n    portz: ["80"]\n')).toThrow(/services\.web.*portz/s);
    expect(() => project('services:\n  web:\n    image: nginx\n    depends_on: [db]\n')).toThrow(/depends on db, which is not defined/);
    expect(() => project('services:\n  web: {}\n')).toThrow(/needs an image or a build/);
    expect(() => project('services:\n  web:\n    image: ${REQUIRED_TAG:?set it}\n')).toThrow(/REQUIRED_TAG is required: set it/);
  });

  it('durations, command splitting, interpolation', () => {
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('500ms')).toBe(0.5);
    expect(() => parseDuration('soon')).toThrow(/duration/);
    expect(splitCommand(`sh -c "echo 'a b' \\"c\\""`)).toEqual(['sh', '-c', `echo 'a b' "c"`]);
    expect(() => splitCommand('echo "unclosed')).toThrow(/unterminated quote/);
    expect(interpolate({ a: ['$$HOME', '${X-def}', '${Y:-d2}', '$X'] }, { Y: '' }, 'f')).toEqual({ a: ['$HOME', 'def', 'd2', ''] });
  });
});
