import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, useRuntime } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const IMAGE = `mayfly-test/compose-busybox:${process.pid}`;
const { runtime } = useRuntime();

const COMPOSE = `
name: shop
services:
  web:
    image: ${IMAGE}
    command: sh -c 'mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 80 -h /www'
    environment:
      GREETING: \${GREETING:-hello-compose}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1/"]
      interval: 1s
  migrate:
    image: ${IMAGE}
    command: ["sh", "-c", "echo migrated"]
  app:
    build: ./app
    depends_on:
      web: { condition: service_healthy }
      migrate: { condition: service_completed_successfully }
    ports: ["8080"]
    volumes: ["cache:/cache"]
    command: sh -c 'wget -qO- http://web/ > /srv/index.html && echo app-ready && cd /srv && exec httpd -f -p 8080'
volumes:
  cache: {}
`;

let dir = '';
const compose = (...args: string[]) => spawnSync(process.execPath, [BIN, 'compose', ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });

beforeAll(async () => {
  await runtime().importRootfs(BUSYBOX, IMAGE);
  dir = mkdtempSync(join(tmpdir(), 'mayfly-compose-'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
  writeFileSync(join(dir, 'app/Dockerfile'), `FROM ${IMAGE}\nRUN mkdir -p /srv\n`);
});

afterAll(async () => {
  compose('down', '-v'); // the keeper itself is shared by the run's test files: global teardown ends it
  rmSync(dir, { recursive: true, force: true });
  await runtime().rmi(IMAGE, { force: true }).catch(() => {});
});

describe('mayfly compose', () => {
  it('up -d builds, starts in dependency order (healthy, completed), wires names; ps, logs; up again keeps; down removes all', async () => {
    const up = compose('up', '-d');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/Building app/);
    expect(up.stderr).toMatch(/Waiting for web to be healthy/);
    const order = ['Started shop-web-1', 'Started shop-migrate-1', 'Started shop-app-1'].map((l) => up.stderr.indexOf(l));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order[2]).toBeGreaterThan(Math.max(order[0]!, order[1]!));

    const ps = compose('ps').stdout;
    expect(ps).toMatch(/shop-app-1\s+app\s+running\s+127\.0\.0\.1:(\d+)->8080\/tcp/);
    const port = /127\.0\.0\.1:(\d+)->8080/.exec(ps)![1];
    let body = '';
    for (let i = 0; i < 100 && !body; i++) {
      body = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text(), () => '');
      if (!body) await new Promise((r) => setTimeout(r, 50));
    }
    expect(body).toBe('hello-compose\n');
    expect(compose('logs', 'migrate').stdout).toMatch(/migrate\s+\| migrated/);

    const again = compose('up', '-d');
    expect(again.stderr).toMatch(/Running shop-web-1/);

    const down = compose('down', '-v');
    expect(down.status).toBe(0);
    expect(down.stderr).toMatch(/Removed shop-app-1/);
    expect(down.stderr).toMatch(/Removed network shop_default/);
    expect(down.stderr).toMatch(/Removed volume shop_cache/);
    expect(compose('ps').stdout.trim().split('\n')).toHaveLength(1);
  });

  it('a bad file is refused with the service and key named', () => {
    const bad = mkdtempSync(join(tmpdir(), 'mayfly-compose-bad-'));
    writeFileSync(join(bad, 'docker-compose.yml'), 'services:\n  web:\n    image: x\n    ports: 80\n');
    const r = spawnSync(process.execPath, [BIN, 'compose', 'up', '-d'], { cwd: bad, encoding: 'utf8' });
    rmSync(bad, { recursive: true, force: true });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/services\.web\.ports/);
  });
});
