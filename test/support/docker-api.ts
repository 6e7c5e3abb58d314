/**
 * The Docker Engine API of the test run's keeper (src/api): its socket, asked of the keeper (which
 * starts if needed and serves it), and a raw request helper for what clients would never send.
 */
import { request } from 'node:http';
import { keeper } from '../../src/keeper/client.js';

export async function dockerApiSocket(): Promise<string> {
  const k = await keeper();
  return (await k.request<{ socketPath: string }>({ op: 'api' })).socketPath;
}

/** One request as written, its status, headers and body. */
export function rawRequest(socketPath: string, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
