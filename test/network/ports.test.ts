import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import type { Container } from '../../src/engine/runtime.js';
import { parsePortFlag } from '../../src/model/docker-flags.js';
import { BUSYBOX, until, useRuntime } from '../support/runtime.js';

const { runtime } = useRuntime();

/** busybox httpd on port 80 serving its name from /etc/hostname (uname's may not be settable: a CI job's seccomp) and an optional big file */
function web(name: string, extra = ''): Promise<Container> {
  return runtime().run({
    layers: [BUSYBOX],
    hostname: name,
    command: ['sh', '-c', `mkdir -p /www && cat /etc/hostname > /www/index.html ${extra} && exec httpd -f -p 80 -h /www`],
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

/** busybox nc echoing every connection (one process per connection) on container port 7000 */
function echo(): Promise<Container> {
  return runtime().run({ layers: [BUSYBOX], command: ['nc', '-ll', '-p', '7000', '-e', 'cat'], ports: [{ containerPort: 7000 }] });
}

/** Waits until the echo server inside answers (the forwarder accepts, and resets, before it is up). */
async function echoReady(port: number): Promise<void> {
  const answers = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write('?'));
      s.once('data', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.once('close', () => resolve(false));
    });
  await until(answers, 5000, 'the echo server');
}

/** Sends `bytes` of random data through an echo connection while reading the echo; both digests. */
function echoRoundTrip(port: number, bytes: number): Promise<{ sent: string; received: string; length: number }> {
  return new Promise((resolve, reject) => {
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let length = 0;
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      let left = bytes;
      const write = () => {
        while (left > 0) {
          const chunk = randomBytes(Math.min(left, 1 << 20));
          left -= chunk.length;
          sent.update(chunk);
          if (!s.write(chunk)) return void s.once('drain', write);
        }
        s.end();
      };
      write();
    });
    s.on('data', (d: Buffer) => {
      received.update(d);
      length += d.length;
    });
    s.on('end', () => (s.destroy(), resolve({ sent: sent.digest('hex'), received: received.digest('hex'), length })));
    s.on('error', reject);
  });
}

/** How a connection ends: 'end' (orderly), or the error code (a reset). */
function outcome(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on('end', () => (s.destroy(), resolve('end')));
    s.resume();
  });
}

describe('published ports: the forwarding path', () => {
  it('carries 100 MB both ways at once, intact', async () => {
    const c = await echo();
    try {
      await echoReady(c.port(7000));
      const r = await echoRoundTrip(c.port(7000), 100_000_000);
      expect(r.length).toBe(100_000_000);
      expect(r.received).toBe(r.sent);
    } finally {
      await c.remove({ force: true });
    }
  });

  it('50 connections at once, each intact', async () => {
    // httpd, not nc: busybox nc resets some of 50 simultaneous clients even without a forwarder
    const c = await web('many', '&& head -c 1000000 /dev/urandom > /www/blob && sha256sum /www/blob | cut -c1-64 > /www/blob.sha');
    try {
      const expected = (await get(c.url(80, '/blob.sha'))).trim();
      const download = () =>
        new Promise<Buffer>((resolve, reject) => {
          const s = connect(c.port(80), '127.0.0.1', () => s.write('GET /blob HTTP/1.0\r\n\r\n'));
          const chunks: Buffer[] = [];
          s.on('data', (d: Buffer) => chunks.push(d));
          s.on('end', () => {
            const all = Buffer.concat(chunks);
            resolve(all.subarray(all.indexOf('\r\n\r\n') + 4));
          });
          s.on('error', reject);
        });
      const bodies = await Promise.all(Array.from({ length: 50 }, download));
      for (const body of bodies) expect(createHash('sha256').update(body).digest('hex')).toBe(expected);
    } finally {
      await c.remove({ force: true });
    }
  });

  it('resets: a closed container port resets the client, and so does a server that drops unread data', async () => {
    const c = await runtime().run({
      layers: [BUSYBOX],
      // reads one line, then exits with the rest unread: its kernel answers with a reset
      command: ['nc', '-ll', '-p', '7000', '-e', 'sh', '-c', 'read line; echo "got $line"; exit 0'],
      ports: [{ containerPort: 7000 }, { containerPort: 7001 }],
    });
    try {
      expect(await outcome(connect(c.port(7001), '127.0.0.1'))).toBe('ECONNRESET'); // nothing listens on 7001
      await until(async () => {
        const s = connect(c.port(7000), '127.0.0.1', () => s.write(Buffer.concat([Buffer.from('hello\n'), Buffer.alloc(1 << 20, 1)])));
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        const how = await outcome(s);
        return got.startsWith('got hello') && ['ECONNRESET', 'EPIPE'].includes(how);
      }, 5000, 'a reset after the answer');
    } finally {
      await c.remove({ force: true });
    }
  });

  it('stopping the container ends its open connections', async () => {
    const c = await echo();
    try {
      await echoReady(c.port(7000));
      const s = connect(c.port(7000), '127.0.0.1');
      await new Promise<void>((resolve) => (s.write('x'), s.once('data', () => resolve())));
      const ended = outcome(s);
      await c.stop({ timeout: 0 });
      // an open connection outliving its container would never end on its own: the tripwire (20 s,
      // far beyond a stop) turns that into a failure that says so, not a test timeout
      let tripwire: NodeJS.Timeout | undefined;
      const how = await Promise.race([
        ended,
        new Promise<string>((resolve) => (tripwire = setTimeout(() => resolve('still open 20 s after the stop'), 20_000))),
      ]).finally(() => clearTimeout(tripwire));
      expect(['end', 'ECONNRESET']).toContain(how);
    } finally {
      await c.remove({ force: true });
    }
  });
});

describe('published UDP ports', () => {
  it('-p HOST:CONTAINER/udp', () => {
    expect(parsePortFlag('5353:53/udp')).toEqual({ hostPort: 5353, containerPort: 53, protocol: 'udp' });
    expect(parsePortFlag('127.0.0.1::53/udp')).toEqual({ hostIp: '127.0.0.1', hostPort: 0, containerPort: 53, protocol: 'udp' });
    expect(parsePortFlag('80')).toEqual({ containerPort: 80, protocol: 'tcp' });
    expect(() => parsePortFlag('53/sctp')).toThrow(/tcp or udp/);
  });

  it('a taken UDP host port is a clear error', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
    const err = await runtime()
      .run({ layers: [BUSYBOX], command: ['sleep', '100'], ports: [{ containerPort: 53, hostPort: blocker.address().port, protocol: 'udp' }] })
      .catch((e: unknown) => e);
    blocker.close();
    expect(isMayflyError(err, 'INVALID_OPTION')).toBe(true);
    expect((err as Error).message).toMatch(/53\/udp: the host port is already in use/);
  });

  it('relays datagrams to a UDP server in the container and its answers back, beside TCP on the same port', async () => {
    const c = await runtime().run({
      layers: [process.env.MAYFLY_TEST_DEBIAN!],
      // a UDP echo (perl-base is in every Debian) on 5353, and a TCP listener on the same port number
      command: [
        'perl', '-MIO::Socket::INET', '-e',
        'my $t = IO::Socket::INET->new(LocalPort => 5353, Listen => 1, ReuseAddr => 1) or die; my $s = IO::Socket::INET->new(LocalPort => 5353, Proto => "udp") or die; while (1) { $s->recv(my $m, 65535); $s->send("echo $m") }',
      ],
      ports: [{ containerPort: 5353, protocol: 'udp' }, { containerPort: 5353 }],
    });
    const client = createSocket('udp4');
    try {
      const udp = c.ports().find((p) => p.protocol === 'udp')!;
      const tcp = c.ports().find((p) => p.protocol === 'tcp')!;
      expect(udp).toMatchObject({ containerPort: 5353, hostIp: '127.0.0.1' });
      expect(udp.hostPort).not.toBe(tcp.hostPort);
      let answer = '';
      client.on('message', (m) => (answer = String(m)));
      await until(() => (client.send('ping', udp.hostPort, '127.0.0.1'), answer !== ''), 10_000, 'an answer over UDP');
      expect(answer).toBe('echo ping');
    } finally {
      client.close();
      await c.remove({ force: true });
    }
  });
});
