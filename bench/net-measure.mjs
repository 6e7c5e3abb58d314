// The two measurements of a TCP path the port benches share: bulk throughput into a sink, and
// one-byte round trips against an echo server — the same code for every path compared.
import { connect } from 'node:net';

/** Sends `bytes` to a sink that answers once it has seen EOF; MB/s. */
export function throughput(port, bytes) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(1 << 20, 7);
    const t0 = performance.now();
    const s = connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += chunk.length;
          if (!s.write(chunk)) return s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.on('data', () => {});
    s.on('end', () => resolve(bytes / 1e6 / ((performance.now() - t0) / 1000)));
    s.on('error', reject);
  });
}

/** One-byte request/response round trips over one connection to an echo server; µs each. */
export function roundTrips(port, n) {
  return new Promise((resolve, reject) => {
    const times = [];
    const s = connect(port, '127.0.0.1', () => {
      let t0 = performance.now();
      s.write('x');
      s.on('data', () => {
        times.push((performance.now() - t0) * 1000);
        if (times.length >= n) return s.destroy(), resolve(times);
        t0 = performance.now();
        s.write('x');
      });
    });
    s.on('error', reject);
  });
}
