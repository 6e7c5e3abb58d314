import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeFd } from '../sys/libc.js';
import { bindUdp } from '../sys/sockets.js';
import { Pump } from './pump.js';

// Without a network namespace the relay's upstream sockets are made in the pump thread's own
// namespace, which here is the host's: an echo server on the host stands in for the container.
let pump: Pump;
beforeAll(() => {
  pump = new Pump();
});
afterAll(() => pump.close());

function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

/**
 * Sends `text` until its answer comes (the relay starts asynchronously), and returns it. A late
 * answer to an earlier resend of another question (a busy machine) is not this one's.
 */
async function ask(s: Socket, port: number, text: string): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const answer = new Promise<string | undefined>((resolve) => {
      const onMessage = (m: Buffer) => {
        if (!String(m).startsWith(`${text} from `)) return;
        clearTimeout(t);
        s.off('message', onMessage);
        resolve(String(m));
      };
      const t = setTimeout(() => (s.off('message', onMessage), resolve(undefined)), 100);
      s.on('message', onMessage);
    });
    s.send(text, port, '127.0.0.1');
    const got = await answer;
    if (got !== undefined) return got;
  }
  throw new Error(`no answer to ${text}`);
}

describe('UdpRelay', () => {
  it('relays datagrams both ways, one upstream socket per client, forgotten when idle', async () => {
    // answers with the address the server saw, so each client's upstream socket shows
    const server = await udp();
    server.on('message', (m: Buffer, from: RemoteInfo) => server.send(`${m} from ${from.port}`, from.port, from.address));
    const group = pump.openGroup();
    const host = bindUdp('127.0.0.1', 0);
    pump.relayUdp(group, host.fd, server.address().port, 300);
    const [a, b] = [await udp(), await udp()];
    try {
      const first = await ask(a, host.port, 'a1');
      expect(first).toMatch(/^a1 from \d+$/);
      expect(await ask(a, host.port, 'a2')).toBe(first.replace('a1', 'a2')); // same client, same upstream socket
      const other = await ask(b, host.port, 'b1');
      expect(other.split(' from ')[1]).not.toBe(first.split(' from ')[1]);

      const big = 'x'.repeat(60_000);
      expect((await ask(a, host.port, big)).startsWith(big)).toBe(true);

      await new Promise((r) => setTimeout(r, 1600)); // idle 300 ms, swept once a second
      const again = await ask(a, host.port, 'a3');
      expect(again.split(' from ')[1]).not.toBe(first.split(' from ')[1]);
    } finally {
      pump.closeGroup(group);
      for (const s of [a, b, server]) s.close();
    }
  });

  it('a closed group frees its host port', async () => {
    const group = pump.openGroup();
    const host = bindUdp('127.0.0.1', 0);
    pump.relayUdp(group, host.fd, 9, 1000);
    expect(() => bindUdp('127.0.0.1', host.port)).toThrow(/EADDRINUSE/);
    pump.closeGroup(group);
    const end = Date.now() + 300; // at once, not at the pump's next tick
    for (;;) {
      try {
        closeFd(bindUdp('127.0.0.1', host.port).fd);
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  });
});
