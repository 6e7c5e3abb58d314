/**
 * Files in and out of a container as tar archives (`docker cp`, Testcontainers' copies):
 * `GET /containers/{id}/archive?path=` the path as a tar, `HEAD` its stat, `PUT` a tar extracted
 * into the directory `path`. Copies go through the container's own root (the sandbox's copy
 * helper chroots into it; a container that is not running has its root filesystem mounted for
 * the copy: Testcontainers copies its files before the start). Archives naming absolute paths or
 * `..` are refused before that.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { t as tarList } from 'tar';
import type { Container } from '../../engine/runtime.js';
import { findContainer } from '../container-documents.js';
import { apiError, type ApiCall, type Route } from '../route.js';

/** Go's os.ModeDir, as Docker's stat header carries it */
const MODE_DIR = 2 ** 31;

/** The container path of the request: absolute, without `..` (which Docker would resolve inside the container anyway; said plainly here). */
function containerPath(call: ApiCall): string {
  const raw = call.query.get('path');
  if (!raw) throw apiError(400, 'the path query parameter is required');
  if (raw.includes('\0')) throw apiError(400, 'the path contains a NUL byte');
  if (raw.split('/').includes('..')) throw apiError(400, `path ${raw} contains "..": give the path inside the container as it is`);
  const p = posix.normalize(raw.startsWith('/') ? raw : `/${raw}`);
  return p.length > 1 ? p.replace(/\/$/, '') : p;
}

/** A running container's files are reached through its root; a created or stopped one's through its root filesystem, mounted for the copy. */
function reachableOrRefuse(c: Container): void {
  if (c.status === 'paused') throw apiError(409, `container ${c.name} is paused: unpause it to copy files`);
  if (c.status === 'removed') throw apiError(404, `No such container: ${c.id}`);
}

function scratch(call: ApiCall): { dir: string; done: () => void } {
  const dir = join(call.ctx.runtime.info.runDir, 'staging', `api-${randomBytes(6).toString('hex')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function statHeader(call: ApiCall, c: Container, path: string): Promise<string> {
  const kind = await c.pathKind(path);
  if (kind === 'missing') throw apiError(404, `Could not find the file ${path} in container ${c.name}`);
  const stat = { name: posix.basename(path) || '/', size: 0, mode: kind === 'dir' ? MODE_DIR + 0o755 : 0o644, mtime: new Date().toISOString(), linkTarget: '' };
  void call;
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

async function head(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const path = containerPath(call);
  reachableOrRefuse(c);
  return call.reply(200, undefined, { 'X-Docker-Container-Path-Stat': await statHeader(call, c, path), 'Content-Type': 'application/x-tar' });
}

async function get(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const path = containerPath(call);
  reachableOrRefuse(c);
  const header = await statHeader(call, c, path);
  const { dir, done } = scratch(call);
  try {
    const archive = join(dir, 'out.tar');
    await c.copyArchiveOut(path, archive);
    call.res.writeHead(200, { 'Content-Type': 'application/x-tar', 'X-Docker-Container-Path-Stat': header, 'Content-Length': statSync(archive).size });
    await pipeline(createReadStream(archive), call.res);
  } finally {
    done();
  }
  return undefined;
}

/** Refuses an archive whose entries would land outside the target: absolute names, `..`, links out. */
async function checkArchive(file: string): Promise<void> {
  const bad: string[] = [];
  await tarList({
    file,
    strict: true,
    onReadEntry: (e) => {
      const names = [e.path, ...(e.type === 'Link' && e.linkpath ? [e.linkpath] : [])];
      for (const n of names) if (n.startsWith('/') || n.split('/').includes('..')) bad.push(n);
    },
  }).catch((e: Error) => {
    throw apiError(400, `the body is not a tar archive: ${e.message}`);
  });
  if (bad.length) throw apiError(400, `the archive names paths outside its target (${bad.slice(0, 3).join(', ')}): refused`);
}

async function put(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const path = containerPath(call);
  reachableOrRefuse(c);
  const { dir, done } = scratch(call);
  try {
    const archive = join(dir, 'in.tar');
    await pipeline(call.req, createWriteStream(archive, { mode: 0o600 }));
    await checkArchive(archive);
    const kind = await c.pathKind(path);
    if (kind === 'missing') throw apiError(404, `Could not find the file ${path} in container ${c.name}`);
    if (kind !== 'dir') throw apiError(400, `extraction point is not a directory: ${path}`);
    await c.copyArchiveIn(archive, path);
  } finally {
    done();
  }
  return call.reply(200);
}

export const archiveRoutes: Route[] = [
  { method: 'HEAD', path: '/containers/:id/archive', handle: head },
  { method: 'GET', path: '/containers/:id/archive', handle: get },
  { method: 'PUT', path: '/containers/:id/archive', handle: put },
];
