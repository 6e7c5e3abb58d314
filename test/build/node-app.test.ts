import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildStep } from '../../src/dockerfile/builder.js';
import { usePresetImages } from '../support/preset-images.js';
import { useRuntime } from '../support/runtime.js';

// Real projects' Dockerfiles, on the look-alike `node` and `nginx` images (Debian's packages)
// pulled by their upstream names through this run's docker.io mirror; `npm ci` reaches the npm registry.
usePresetImages();
const { runtime } = useRuntime();
const FIXTURES = join(import.meta.dirname, 'fixtures');
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function copyFixture(name: string): string {
  const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, `${name}-`));
  dirs.push(dir);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

async function fetchText(url: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

describe('a multi-stage TypeScript app: npm ci with a cache mount, served by nginx', () => {
  let ctx: string;
  beforeAll(() => {
    ctx = copyFixture('ts-app');
    // what .dockerignore keeps out: a stale node_modules must not replace the one npm ci made
    mkdirSync(join(ctx, 'node_modules', 'typescript'), { recursive: true });
    writeFileSync(join(ctx, 'node_modules', 'typescript', 'package.json'), '{"broken": true}');
    writeFileSync(join(ctx, 'debug.log'), 'noise');
  });

  async function buildAndServe(): Promise<{ steps: BuildStep[]; page: string; script: string }> {
    const steps: BuildStep[] = [];
    // this machine reaches the npm registry through a TLS-inspecting proxy whose CA the host trusts:
    // the build gets the host's trust store as a secret (the Dockerfile works without it elsewhere)
    const ca = process.env.NODE_EXTRA_CA_CERTS ?? (existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined);
    const rec = await runtime().build({ context: ctx, tag: 'test/ts-app:dev', onStep: (s) => steps.push(s), secrets: ca ? { 'proxy-ca': { src: ca } } : {} });
    const c = await runtime().run({ image: rec.id, pull: 'never', ports: [{ containerPort: 80 }] });
    try {
      return { steps, page: await fetchText(c.url(80, '/')), script: await fetchText(c.url(80, '/main.js')) };
    } finally {
      await c.remove({ force: true });
    }
  }

  it('builds and serves the compiled files; a source change rebuilds without running npm ci again', async () => {
    const first = await buildAndServe();
    expect(first.page).toContain('<title>ts app</title>');
    expect(first.script).toContain('const greeting = \'hello from TypeScript\';');
    writeFileSync(join(ctx, 'src', 'main.ts'), "export const greeting: string = 'changed';\n");
    const second = await buildAndServe();
    expect(second.script).toContain("const greeting = 'changed';");
    const run = (text: string) => second.steps.find((s) => s.text.includes(text))!;
    expect(run('npm ci').cached).toBe(true);
    expect(run('COPY . .').cached).toBe(false);
    expect(run('RUN npm run build').cached).toBe(false);
  }, 300_000);
});

describe("the course notes' app-node Dockerfile", () => {
  it('ARG into ENV and EXPOSE, shell-form ENTRYPOINT; the image runs as written', async () => {
    const ctx = copyFixture('app-node');
    const rec = await runtime().build({ context: ctx, tag: 'test/app-node:1', buildArgs: { PORT: '4000' } });
    expect(rec.config.config).toMatchObject({ Env: expect.arrayContaining(['PORT=4000']), ExposedPorts: { '4000/tcp': {} }, Entrypoint: ['/bin/sh', '-c', 'npm start'], WorkingDir: '/usr/src/app' });
    const c = await runtime().run({ image: 'test/app-node:1', pull: 'never', publishAll: true });
    try {
      expect(await fetchText(c.url(4000, '/'))).toBe('app-node on 4000\n');
    } finally {
      await c.remove({ force: true });
    }
  }, 300_000);
});
