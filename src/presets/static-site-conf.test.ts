import { describe, expect, it } from 'vitest';
import { HEADER_NAME, HEADER_VALUE, nginxConf, SITE_ROOT } from './static-site-conf.js';

describe('nginxConf', () => {
  it('serves the site folder, 404 for unknown paths, no listings, by default', () => {
    const conf = nginxConf({ spa: false, directoryListing: false, headers: {} });
    expect(conf).toContain(`root ${SITE_ROOT};`);
    expect(conf).toContain('listen 80;');
    expect(conf).toContain('try_files $uri $uri/ =404;');
    expect(conf).toContain('autoindex off;');
    expect(conf).not.toContain('add_header');
    expect(conf).not.toContain('geo');
  });

  it('spa: unknown paths fall back to /index.html; listings on request', () => {
    const conf = nginxConf({ spa: true, directoryListing: true, headers: {} });
    expect(conf).toContain('try_files $uri $uri/ /index.html;');
    expect(conf).toContain('autoindex on;');
  });

  it('headers are quoted for nginx, on every answer (always); a literal $ goes through a variable, since nginx has no escape for it', () => {
    const conf = nginxConf({ spa: false, directoryListing: false, headers: { 'X-A': 'plain', 'X-B': 'say "hi" \\ back', 'X-C': 'costs $5; {x}' } });
    expect(conf).toContain('add_header X-A "plain" always;');
    expect(conf).toContain('add_header X-B "say \\"hi\\" \\\\ back" always;');
    expect(conf).toContain('add_header X-C "costs ${mayfly_dollar}5; {x}" always;');
    expect(conf).toMatch(/^geo \$mayfly_dollar \{ default "\$"; \}$/m);
  });

  it('header names are HTTP tokens; values have no line breaks', () => {
    expect(HEADER_NAME.test('Content-Security-Policy')).toBe(true);
    expect(HEADER_NAME.test('Bad Name')).toBe(false);
    expect(HEADER_NAME.test('X:Y')).toBe(false);
    expect(HEADER_VALUE.test("default-src 'self'; img-src *")).toBe(true);
    expect(HEADER_VALUE.test('a\r\nSet-Cookie: x')).toBe(false);
  });
});
