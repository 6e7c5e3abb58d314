import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presets, sharedRuntime } from '../../src/index.js';
import { siteImage } from '../../src/presets/static-site-image.js';
import { nginxConf } from '../../src/presets/static-site-conf.js';
import { usePresetImages } from '../support/preset-images.js';
import { caught } from '../support/runtime.js';

// `nginx:1` (the preset's default base) by its upstream name, pulled through this run's docker.io
// mirror (test/support/preset-images.ts publishes a look-alike of Debian's nginx there).
usePresetImages();

/** A 1×1 PNG: the page shows it, and the browser must have loaded it for naturalWidth to be 1. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');

/** A small single-page app: the script renders the route it was opened at. */
function writeSite(dir: string): void {
  mkdirSync(join(dir, 'img'), { recursive: true });
  mkdirSync(join(dir, 'docs'), { recursive: true });
  writeFileSync(
    join(dir, 'index.html'),
    '<!doctype html><html><head><title>mayfly site</title><script src="/app.js" defer></script></head>' +
      '<body><div id="app">not rendered</div><img id="dot" src="/img/dot.png" alt="dot"></body></html>\n',
  );
  writeFileSync(join(dir, 'app.js'), "document.getElementById('app').textContent = 'rendered by app.js at ' + location.pathname;\n");
  writeFileSync(join(dir, 'img', 'dot.png'), PNG);
  writeFileSync(join(dir, 'docs', 'readme.txt'), 'plain text\n');
}

describe('presets.staticSite', () => {
  const dirs: string[] = [];
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmpSite = () => {
    const d = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'site-')); // 0700: the preset makes it readable to nginx
    dirs.push(d);
    return d;
  };

  it('serves the folder; Chromium renders a SPA deep link (script ran, image loaded) through the fallback; headers on every answer', async () => {
    const dir = tmpSite();
    writeSite(dir);
    await using site = await presets.staticSite(dir, { spa: true, headers: { 'X-Served-By': 'mayfly', 'X-Price': 'costs $5 "net"' } });
    expect(site.connectionString()).toBe(`http://127.0.0.1:${site.mappedPort}`);
    expect(site.image).toMatch(/^localhost\/mayfly-static:[0-9a-f]{32}$/);

    const js = await fetch(site.siteUrl('/app.js'));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(js.headers.get('x-served-by')).toBe('mayfly');
    expect(js.headers.get('x-price')).toBe('costs $5 "net"');
    expect(await js.text()).toContain('rendered by app.js');
    const png = await fetch(site.siteUrl('img/dot.png'));
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer())).toEqual(PNG);
    const deep = await fetch(site.siteUrl('/orders/42'));
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="app">');

    const page = await browser!.newPage();
    try {
      const res = await page.goto(site.siteUrl('/orders/42'));
      expect(res?.status()).toBe(200);
      // (page functions as strings: they run in the browser, and this project's types have no DOM)
      await expect.poll(() => page.textContent('#app')).toBe('rendered by app.js at /orders/42');
      await page.waitForFunction("document.getElementById('dot').complete");
      expect(await page.evaluate("document.getElementById('dot').naturalWidth")).toBe(1); // 0 if it did not load
      expect(await page.title()).toBe('mayfly site');
    } finally {
      await page.close();
    }
  }, 180_000);

  it('without spa an unknown path is 404; directory listings on request; a folder without index.html is served too', async () => {
    const dir = tmpSite();
    writeSite(dir);
    rmSync(join(dir, 'index.html'));
    await using site = await presets.staticSite(dir, { directoryListing: true });
    expect((await fetch(site.siteUrl('/nope'))).status).toBe(404);
    const listing = await fetch(site.siteUrl('/docs/'));
    expect(await listing.text()).toContain('readme.txt');
    expect(await (await fetch(site.siteUrl('/docs/readme.txt'))).text()).toBe('plain text\n');
    // nginx's own welcome page is not part of the site
    expect((await fetch(site.siteUrl('/'))).status).toBe(200); // the listing of /
    expect(await (await fetch(site.siteUrl('/'))).text()).not.toContain('Welcome to nginx');
  }, 180_000);

  it('is cached by content: an unchanged folder builds nothing; one changed file rebuilds the site layer only', async () => {
    const dir = tmpSite();
    writeSite(dir);
    const first = await presets.staticSite(dir);
    await first.remove();
    expect(first.built).toBe(true);

    // the same folder: the image is found, not built
    await using again = await presets.staticSite(dir);
    expect(again.built).toBe(false);
    expect(again.image).toBe(first.image);
    const rt = await sharedRuntime();
    const conf = nginxConf({ spa: false, directoryListing: false, headers: {} });
    const workDir = join(rt.info.runDir, 'staging');
    // named by content: a copy elsewhere, with other modes, is the same site
    const copy = tmpSite();
    cpSync(dir, copy, { recursive: true });
    chmodSync(join(copy, 'app.js'), 0o600);
    expect(await siteImage(rt, { base: 'nginx:1', conf, folder: copy, workDir })).toMatchObject({ name: first.image, built: false });
    const lookups: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const found = await siteImage(rt, { base: 'nginx:1', conf, folder: dir, workDir });
      lookups.push(performance.now() - t0);
      expect(found).toMatchObject({ name: first.image, built: false });
    }
    lookups.sort((a, b) => a - b);
    // how fast (the target: < 50 ms) is the bench's to say (bench/presets.mjs measures the lookup); here
    // the figure is only shown — on a loaded CI machine a duration proves nothing about the code
    console.log(`staticSite, unchanged folder: image found in ${lookups.map((ms) => ms.toFixed(1)).join(', ')} ms`);

    writeFileSync(join(dir, 'app.js'), "document.getElementById('app').textContent = 'changed';\n");
    const rebuilt = await siteImage(rt, { base: 'nginx:1', conf, folder: dir, workDir });
    expect(rebuilt.built).toBe(true);
    expect(rebuilt.steps.filter((s) => !s.metadata).map((s) => `${s.text}${s.cached ? ' (cached)' : ''}`)).toEqual([
      'FROM nginx:1',
      'COPY default.conf /etc/nginx/conf.d/default.conf (cached)',
      'COPY site/ /usr/share/nginx/site/',
    ]);
    await using changed = await presets.staticSite(dir);
    expect(changed.built).toBe(false); // just built
    expect(changed.image).toBe(rebuilt.name);
    expect(changed.image).not.toBe(first.image);
    const before = rt.inspect(first.image).layers.map((l) => l.chainId);
    const after = rt.inspect(changed.image).layers.map((l) => l.chainId);
    expect(after).toHaveLength(before.length);
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1)); // base and conf layers reused
    expect(after.at(-1)).not.toBe(before.at(-1));
    expect(await (await fetch(changed.siteUrl('/app.js'))).text()).toContain('changed');
  }, 180_000);

  it('serves the folder a Dockerfile stage builds; an unchanged stage starts from the same site image', async () => {
    const ctx = tmpSite();
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM nginx:1 AS site\nARG TITLE\nRUN mkdir -p /out/docs && echo "<h1>$TITLE</h1>" > /out/index.html && echo doc > /out/docs/a.txt\nFROM nginx:1 AS other\nRUN exit 1\n');
    const source = { context: ctx, target: 'site', path: '/out', buildArgs: { TITLE: 'built by a stage' } };
    await using site = await presets.staticSite(source);
    expect(site.built).toBe(true);
    expect(await (await fetch(site.siteUrl('/'))).text()).toBe('<h1>built by a stage</h1>\n');
    expect(await (await fetch(site.siteUrl('/docs/a.txt'))).text()).toBe('doc\n');
    await using again = await presets.staticSite(source);
    expect(again.built).toBe(false);
    expect(again.image).toBe(site.image);
    const bad = await caught(presets.staticSite({ context: ctx, path: 'out' }));
    expect(bad.message).toMatch(/source\.path: path must be absolute/);
  }, 180_000);

  it('refuses a missing folder, a SPA without index.html and bad headers before anything starts', async () => {
    const missing = await caught(presets.staticSite('/nonexistent/site'));
    expect(missing.message).toMatch(/no such directory: \/nonexistent\/site/);
    const dir = tmpSite();
    const spa = await caught(presets.staticSite(dir, { spa: true }));
    expect(spa.message).toMatch(/spa: .* has no index.html/);
    const header = await caught(presets.staticSite(dir, { headers: { 'Bad Name': 'x', 'X-Ok': 'line\nbreak' } }));
    expect(header.code).toBe('INVALID_OPTION');
    expect(header.message).toMatch(/headers\.Bad Name/);
    expect(header.message).toMatch(/line breaks/);
  });
});
