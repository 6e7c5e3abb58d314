/**
 * The key of an initialised-data snapshot: a digest of everything that can shape what a first
 * start initialises — the image (by ID: a re-tagged name is another image), command, entrypoint,
 * environment (user, password, database, initdb arguments…), user, working directory, the content
 * of every file copied in (init scripts, seed folders), the state paths, and the caller's own
 * `key`. Ports, names, limits and waits do not change what is initialised and are left out.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { stableJson } from '../core/stable-json.js';
import type { ResolvedHarnessOptions } from './options.js';

/** Bumped when what a snapshot holds, or how it is taken, changes: older snapshots are then another key. */
const FORMAT = 1;

export function initSnapshotKey(imageId: string, o: ResolvedHarnessOptions): string {
  const s = o.initSnapshot!;
  const identity = {
    format: FORMAT,
    imageId,
    layers: o.layers ?? [],
    command: o.command,
    entrypoint: o.entrypoint,
    env: o.env,
    user: o.user,
    workingDir: o.workingDir,
    paths: s.paths,
    key: s.key,
    copies: o.copies.map((c) => ({ target: c.target, mode: c.mode, content: 'content' in c ? sha256(Buffer.from(c.content)) : treeDigest(c.source) })),
  };
  return sha256(stableJson(identity));
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A host file or directory tree: names, kinds, modes and contents, in a fixed order (a preset's seed data, for `initSnapshot.key`). */
export function treeDigest(path: string): string {
  const h = createHash('sha256');
  const walk = (p: string, rel: string) => {
    const st = lstatSync(p);
    h.update(`${rel}\0${st.mode & 0o170777}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isFile()) h.update(readFileSync(p));
    else if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name), `${rel}/${name}`);
    h.update('\0');
  };
  walk(path, '');
  return h.digest('hex');
}
