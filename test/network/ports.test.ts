import { createHash } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/errors.js';
import type { Container } from '../../src/runtime/runtime.js';
import { BUSYBOX, until, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();

/** busybox httpd on port 80 serving its hostname (and an optional big file) */
function web(name: string, extra = ''): Promise<Container> {
  return runtime().run({
    layers: [BUSYBOX],
    hostname: name,
    command: ['sh', '-c', `mkdir -p /www && hostname > /www/index.html ${extra} && exec httpd -f -p 80 -h /www`],
    tmpfs: [{ path: '/www' }],
    ports: [{ containerPort: 80 }],
  });
}

async function get(url: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (e) {
      if (i > 200) throw e; // the server inside is still starting
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function talk(port: number, send: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(send)); // write, then half-close
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('end', () => resolve(got));
    s.on('error', reject);
  });
}

describe('published ports', () => {
  it('20 containers listen on port 80 at once, each on its own host port', async () => {
    const cs = await Promise.all(Array.from({ length: 20 }, (_, i) => web(`web${i}`)));
    try {
      const ports = cs.map((c) => c.port(80));
      expect(new Set(ports).size).toBe(20);
      const bodies = await Promise.all(cs.map((c) => get(c.url(80))));
      expect(bodies).toEqual(cs.map((_, i) => `web${i}\n`));
      expect(cs[0]!.ports()).toEqual([{ containerPort: 80, hostPort: ports[0], hostIp: '127.0.0.1', protocol: 'tcp' }]);
    } finally {
      await Promise.all(cs.map((c) => c.remove({ force: true })));
    }
  });

  it('carries large responses intact (backpressure), and half-closes', async () => {
    const c = await web('big', '&& head -c 20000000 /dev/urandom > /www/big.bin && sha256sum /www/big.bin | cut -c1-64 > /www/big.sha');
    try {
      const expected = (await get(c.url(80, '/big.sha'))).trim();
      const body = Buffer.from(await (await fetch(c.url(80, '/big.bin'))).arrayBuffer());
      expect(body.length).toBe(20_000_000);
      expect(createHash('sha256').update(body).digest('hex')).toBe(expected);
    } finally {
      await c.remove({ force: true });
    }
    const counter = await runtime().run({ layers: [BUSYBOX], command: ['nc', '-ll', '-p', '7000', '-e', 'wc', '-c'], ports: [{ containerPort: 7000 }] });
    try {
      let answer = '';
      await until(async () => (answer = await talk(counter.port(7000), Buffer.alloc(100_000, 1)).catch(() => '')) !== '', 5000, 'the counter to answer');
      expect(answer.trim()).toBe('100000'); // it saw our EOF (half-close) and could still answer
    } finally {
      await counter.remove({ force: true });
    }
  });

  it('a published port refuses connections after stop, and the host port is free again', async () => {
    const c = await web('stopping');
    const port = c.port(80);
    expect(await get(c.url(80))).toBe('stopping\n');
    await c.stop({ timeout: 0 });
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    const again = createServer();
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    again.close();
    await c.remove();
  });

  it('a fixed host port, and a clear error when it is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as { port: number }).port;
    const err = await runtime()
      .run({ layers: [BUSYBOX], command: ['sleep', '100'], ports: [{ containerPort: 80, hostPort: taken }] })
      .catch((e: unknown) => e);
    blocker.close();
    expect(isMayflyError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toContain('already in use');
    const fixed = await runtime().run({ layers: [BUSYBOX], command: ['sh', '-c', 'echo fixed > /tmp/index.html && exec httpd -f -p 80 -h /tmp'], ports: [{ containerPort: 80, hostPort: taken }] });
    expect(await get(`http://127.0.0.1:${taken}/`)).toBe('fixed\n');
    await fixed.remove({ force: true });
  });

  it('publishAll publishes the exposed ports; host network cannot publish', async () => {
    await runtime().importRootfs(BUSYBOX, 'test/exposing:1', { Cmd: ['sh', '-c', 'echo exposed > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'], ExposedPorts: { '8080/tcp': {} } });
    const c = await runtime().run({ image: 'test/exposing:1', publishAll: true });
    expect(await get(c.url(8080))).toBe('exposed\n');
    await c.remove({ force: true });
    await expect(runtime().create({ layers: [BUSYBOX], command: ['true'], network: 'host', ports: [{ containerPort: 80 }] })).rejects.toThrow(/network "host"/);
  });
});
