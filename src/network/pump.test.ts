import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pump } from './pump.js';

// Without a network namespace the pump connects from its own thread's, which here is the host's:
// the whole path (accept, hand-over, connect, relay) runs without a container.
let filePump: Pump;
let fdsBefore: number;
const openFds = () => readdirSync('/proc/self/fd').length;

beforeAll(async () => {
  const warm = createServer(); // Node opens a few descriptors of its own on first use
  await listen(warm);
  warm.close();
  fdsBefore = openFds();
  filePump = new Pump();
});

afterAll(async () => {
  filePump.close();
  await until(() => openFds() <= fdsBefore, 'the pump to give back every descriptor');
});

async function until(ok: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** An upstream server and a listener that hands its clients to the pump; `end` closes all of it, both ends of every connection included. */
async function forwarding(onUpstream: (s: Socket) => void, pump = filePump) {
  const sockets: Socket[] = [];
  const upstream = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    onUpstream(s);
  });
  const upstreamPort = await listen(upstream);
  const group = pump.openGroup();
  const front = createServer({ pauseOnConnect: true }, (c) => pump.forward(group, c, upstreamPort));
  const port = await listen(front);
  const open = (): Socket => {
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    sockets.push(s);
    return s;
  };
  const end = () => {
    pump.closeGroup(group);
    front.close();
    upstream.close();
    for (const s of sockets) s.destroy();
  };
  return { port, open, end, closeGroup: () => pump.closeGroup(group) };
}

function collect(s: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

function failure(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on('end', () => resolve('end'));
    s.resume();
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Pump', () => {
  it('carries bytes both ways at once, intact', async () => {
    const f = await forwarding((s) => s.pipe(s)); // echo
    try {
      const data = randomBytes(32 << 20);
      const c = f.open();
      const echoed = collect(c);
      c.end(data);
      expect(sha(await echoed)).toBe(sha(data));
    } finally {
      f.end();
    }
  });

  it('passes half-closes through in both directions', async () => {
    // the client ends first, and the server still answers
    const f = await forwarding((s) => {
      let n = 0;
      s.on('data', (d: Buffer) => (n += d.length));
      s.on('end', () => s.end(`got ${n}`));
    });
    // the server ends first, and the client still sends
    const received: Promise<string>[] = [];
    const g = await forwarding((s) => {
      s.end('bye');
      received.push(collect(s).then(String));
    });
    try {
      const c = f.open();
      const answer = collect(c);
      c.end(Buffer.alloc(100_000, 1));
      expect(String(await answer)).toBe('got 100000');

      const d = g.open();
      expect(String(await collect(d))).toBe('bye');
      d.end('still here');
      await until(() => received.length === 1, 'the upstream connection');
      expect(await received[0]).toBe('still here');
    } finally {
      f.end();
      g.end();
    }
  });

  it('resets the client when nothing listens upstream', async () => {
    const closed = createServer();
    const port = await listen(closed);
    closed.close();
    const group = filePump.openGroup();
    const front = createServer({ pauseOnConnect: true }, (c) => filePump.forward(group, c, port));
    const frontPort = await listen(front);
    try {
      expect(await failure(connect(frontPort, '127.0.0.1'))).toBe('ECONNRESET');
    } finally {
      filePump.closeGroup(group);
      front.close();
    }
  });

  it('passes resets through in both directions', async () => {
    let upstream: Socket | undefined;
    const f = await forwarding((s) => (upstream = s));
    try {
      const c = f.open();
      c.write('hello');
      await until(() => upstream !== undefined, 'the upstream connection');
      const clientSees = failure(c);
      upstream!.resetAndDestroy();
      expect(await clientSees).toBe('ECONNRESET');

      upstream = undefined;
      const d = f.open();
      d.write('hello');
      await until(() => upstream !== undefined, 'the upstream connection');
      const upstreamSees = failure(upstream!);
      d.resetAndDestroy();
      expect(await upstreamSees).toBe('ECONNRESET');
    } finally {
      f.end();
    }
  });

  it('holds back a fast sender instead of buffering for a slow reader', async () => {
    let upstream: Socket | undefined;
    const f = await forwarding((s) => {
      s.pause();
      upstream = s;
    });
    try {
      const c = f.open();
      const chunk = Buffer.alloc(1 << 20, 3);
      let accepted = 0;
      // write until the kernel stops taking bytes: socket buffers and the pump's pipe, nothing more
      for (;;) {
        const more = c.write(chunk);
        accepted += chunk.length;
        if (!more && !(await new Promise((r) => (c.once('drain', () => r(true)), setTimeout(() => r(false), 300))))) break;
        if (accepted > 256 << 20) break;
      }
      expect(accepted).toBeLessThan(64 << 20);
      await until(() => upstream !== undefined, 'the upstream connection');
      const all = collect(upstream!);
      upstream!.resume();
      c.end();
      expect((await all).length).toBe(accepted);
    } finally {
      f.end();
    }
  });

  it('closing a group ends its connections at once, and only them', async () => {
    // a pump whose next tick is ten minutes away: a close that waited for it would outlast the test
    const slow = new Pump({ tickMs: 600_000 });
    const f = await forwarding((s) => s.pipe(s), slow);
    const g = await forwarding((s) => s.pipe(s), slow);
    try {
      const a = f.open();
      const b = g.open();
      const echoed = (s: Socket) => new Promise((r) => s.once('data', r));
      a.write('x');
      b.write('x');
      await Promise.all([echoed(a), echoed(b)]);
      const ended = failure(a);
      f.closeGroup();
      expect(await ended).toBe('end'); // at the wake-up the close sends, not at the pump's next tick
      b.write('y');
      expect(String(await echoed(b))).toBe('y');
    } finally {
      f.end();
      g.end();
      slow.close();
    }
  });

  it('forwards 50 connections at once', async () => {
    const f = await forwarding((s) => s.pipe(s));
    try {
      const sent = Array.from({ length: 50 }, () => randomBytes(256 << 10));
      const got = await Promise.all(
        sent.map((data) => {
          const c = f.open();
          const echoed = collect(c);
          c.end(data);
          return echoed;
        }),
      );
      expect(got.map(sha)).toEqual(sent.map(sha));
    } finally {
      f.end();
    }
  });
});
