/**
 * Request bodies that become files, and files that become answers: a load's tar and a build's
 * context are written under the home's tmp/ (never memory: they can be large), a save's tar is
 * streamed out. Each temporary goes when its request ends, whatever happened.
 */
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/** A fresh directory under `<home>/tmp`, removed after `work`. */
export async function withScratchDir<T>(home: string, prefix: string, work: (dir: string) => Promise<T>): Promise<T> {
  const base = join(home, 'tmp');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(base, `${prefix}-`));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The request's body, as it comes, into `file`. */
export function bodyToFile(req: IncomingMessage, file: string): Promise<void> {
  return pipeline(req, createWriteStream(file, { mode: 0o600 }));
}

/** `file` as the answer, with Docker's tar type. */
export async function sendTarFile(res: ServerResponse, file: string): Promise<void> {
  res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  await pipeline(createReadStream(file), res);
}
