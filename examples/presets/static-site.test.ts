// A folder served over HTTP by nginx, looked at with fetch and with a real browser (Debian's
// Chromium through playwright-core). The folder becomes an image layer cached by its content: the
// next run with the same files builds nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { presets } from 'mayfly';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';

// usually your build output, e.g. './dist'
const folder = mkdtempSync(join(tmpdir(), 'example-site-'));
mkdirSync(join(folder, 'assets'));
writeFileSync(join(folder, 'index.html'), '<!doctype html><title>Shop</title><main id="app"></main><script src="/assets/app.js"></script>');
writeFileSync(join(folder, 'assets', 'app.js'), "document.getElementById('app').textContent = 'Route: ' + location.pathname;");

let site: presets.StartedStaticSite;
beforeAll(async () => {
  site = await presets.staticSite(folder, { spa: true, headers: { 'Cache-Control': 'no-store' } });
}, 120_000);
afterAll(async () => {
  await site?.remove();
  rmSync(folder, { recursive: true, force: true });
});

test('fetch: files, headers, and the single-page-app fallback', async () => {
  const res = await fetch(site.siteUrl('/assets/app.js'));
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(await res.text()).toContain('Route: ');
  expect((await fetch(site.siteUrl('/products/7'))).status).toBe(200); // index.html, for the client-side router
});

test('Chromium renders a deep link', async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  try {
    const page = await browser.newPage();
    await page.goto(site.siteUrl('/products/7'));
    await expect.poll(() => page.textContent('#app')).toBe('Route: /products/7');
  } finally {
    await browser.close();
  }
}, 60_000);
