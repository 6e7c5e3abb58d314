/**
 * COPY and ADD: sources from the context (wildcards, .dockerignore applied), from another stage or
 * image (`--from`), from heredocs, and for ADD from http(s) URLs (`--checksum`) and local tar
 * archives (unpacked). `--chown` names are looked up in the image, `--chmod` sets the permission
 * bits, `--link` is accepted (every layer here is independent of what is below it already). The
 * cache key is the sources' content, never their mtimes, and never an ignored file.
 */
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { CopyItem, CopyPlan } from '../../image/layer/copy-plan.js';
import type { LayerRecord } from '../../image/store/image-store.js';
import { dockerfileError } from '../dockerfile/errors.js';
import { expandVariables, ExpansionError } from '../dockerfile/expand.js';
import type { CopyInstruction } from '../dockerfile/instructions.js';
import { stageByRef } from '../stages.js';
import type { BuildSession } from '../session.js';
import type { StageState } from '../stage-state.js';
import { hasWildcards, matchPaths, PatternError } from '../wildcards.js';
import { checkChecksum, download, isUrl, urlFileName } from './url-source.js';

export interface PreparedCopy {
  inputs: Record<string, unknown>;
  make(): Promise<LayerRecord | null>;
  release(): Promise<void>;
}

/** Tar archives ADD unpacks, told by their first bytes as Docker does (not by their names). */
export function isArchive(path: string): boolean {
  const head = Buffer.alloc(512);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (b[0] === 0x1f && b[1] === 0x8b) return true; // gzip
  if (b.subarray(0, 3).toString('latin1') === 'BZh') return true; // bzip2
  if (b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true; // xz
  if (b.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true; // zstd
  return n >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar'; // tar
}

function parseChmod(text: string, line: number): number {
  if (!/^[0-7]{3,4}$/.test(text)) throw dockerfileError(line, `--chmod=${text} is not an octal mode`, 'write --chmod=0755 or --chmod=644');
  return Number.parseInt(text, 8);
}

export async function prepareCopy(s: BuildSession, st: StageState, inst: CopyInstruction): Promise<PreparedCopy> {
  const fail = (message: string, hint?: string): never => {
    throw dockerfileError(inst.line, `${inst.kind} ${message}`, hint);
  };
  const rawDest = st.expand(inst.dest, inst.line);
  if (!rawDest) fail('has an empty destination');
  const dest = st.absolute(rawDest);
  const owner = inst.chown ? st.ids(st.expand(inst.chown, inst.line), inst.line, '--chown') : undefined;
  const mode = inst.chmod ? parseChmod(st.expand(inst.chmod, inst.line), inst.line) : undefined;
  const sources = inst.sources.map((src) => (src.startsWith('<<') && inst.heredocs.some((h) => `<<${h.name}` === src) ? src : st.expand(src, inst.line)));
  const cleanups: (() => void)[] = [];
  const items: CopyItem[] = [];
  const keys: unknown[] = [];
  let from: CopyPlan['from'] = { kind: 'dir', root: s.context.root };
  let several = sources.length > 1;
  const dirDest = rawDest.endsWith('/');

  if (inst.from) {
    if (inst.kind === 'ADD') fail('--from is for COPY', 'use COPY --from=…');
    const ref = st.expand(inst.from, inst.line);
    const index = stageByRef(s.dockerfile, ref);
    const source = index !== undefined ? await s.stage(index) : await s.image(ref);
    const layers = source.layers.map((l) => s.host.store.layerPath(l.chainId));
    from = { kind: 'layers', layers };
    keys.push({ from: source.key });
    for (const src of sources) {
      const path = posix.normalize(`/${src}`);
      if (!hasWildcards(path)) {
        items.push({ kind: 'entry', rel: path.slice(1) });
        keys.push(path);
        continue;
      }
      // the directory before the first wildcard is listed, the rest matched against it
      const parts = path.split('/');
      const firstWild = parts.findIndex((p) => hasWildcards(p));
      const dir = parts.slice(0, firstWild).join('/') || '/';
      const listing = layers.length ? await s.host.listLayers(layers, dir) : [];
      let matched: string[];
      try {
        matched = matchPaths(parts.slice(firstWild).join('/'), listing);
      } catch (e) {
        if (e instanceof PatternError) fail(e.message);
        throw e;
      }
      if (!matched.length) fail(`--from=${ref}: nothing in ${ref} matches ${src}`);
      if (matched.length > 1) several = true;
      for (const m of matched) items.push({ kind: 'entry', rel: posix.join(dir, m).slice(1) });
      keys.push(path);
    }
  } else {
    for (const src of sources) {
      const doc = src.startsWith('<<') ? inst.heredocs.find((h) => `<<${h.name}` === src) : undefined;
      if (doc) {
        let data = doc.content;
        if (doc.expand) {
          try {
            data = expandVariables(data, st.lookup, st.escape);
          } catch (e) {
            if (e instanceof ExpansionError) fail(`<<${doc.name}: ${e.message}`);
            throw e;
          }
        }
        items.push({ kind: 'content', name: doc.name, data });
        keys.push({ heredoc: doc.name, data });
        continue;
      }
      if (isUrl(src)) {
        if (inst.kind === 'COPY') fail(`cannot take a URL (${src})`, 'use ADD for URLs');
        const name = urlFileName(src);
        if (!name && (dirDest || several)) fail(`${src}: the URL has no file name to use in ${rawDest}`, 'give the destination file name');
        if (inst.checksum) {
          // the checksum is the content: a cached step needs no download
          const { algorithm, hex } = checkChecksum(inst.checksum, inst.line);
          keys.push({ url: src, checksum: `${algorithm}:${hex}` });
          items.push({ kind: 'file', name, path: '', mode: 0o600 });
        } else {
          const got = await download(src, s.scratch, inst.line, undefined, s.signal);
          cleanups.push(() => rmSync(got.path, { force: true }));
          keys.push({ url: src, digest: got.digest });
          items.push({ kind: 'file', name, path: got.path, mode: 0o600 });
        }
        continue;
      }
      if (/^git@|\.git(#.*)?$/.test(src)) fail(`from a git repository (${src}) is not supported`, 'clone it into the build context first');
      const resolved = s.context.resolve(src, fail);
      if (resolved.length > 1 || hasWildcards(src)) several = several || resolved.length > 1;
      for (const r of resolved) {
        if (inst.kind === 'ADD' && r.entry.kind === 'file' && isArchive(join(s.context.root, r.entry.rel))) {
          items.push({ kind: 'archive', rel: r.entry.rel });
        } else {
          items.push({ kind: 'entry', rel: r.entry.rel, ...(r.entry.kind === 'dir' ? { below: r.below.map((e) => (r.entry.rel ? posix.relative(r.entry.rel, e.rel) : e.rel)) } : {}) });
        }
      }
      keys.push({ source: src, content: s.context.contentKey(resolved) });
    }
  }
  if (several && !dirDest) fail(`with several sources needs a directory destination ending in / (got ${rawDest})`, `write ${rawDest}/`);

  const plan: CopyPlan = {
    parentLayers: st.layers.map((l) => s.host.store.layerPath(l.chainId)),
    from,
    items,
    dest,
    destIsDir: dirDest || several,
    ...(owner ? { owner } : {}),
    ...(mode !== undefined ? { mode } : {}),
  };
  return {
    inputs: { [inst.kind.toLowerCase()]: keys, dest, destIsDir: plan.destIsDir, owner: owner ?? null, mode: mode ?? null, link: inst.link },
    release: async () => {
      for (const c of cleanups) c();
    },
    make: async () => {
      // a URL with a checksum is only fetched when the step really runs
      for (const item of plan.items) {
        if (item.kind !== 'file' || item.path) continue;
        const src = sources.find((x) => isUrl(x) && urlFileName(x) === item.name)!;
        const got = await download(src, s.scratch, inst.line, inst.checksum, s.signal);
        cleanups.push(() => rmSync(got.path, { force: true }));
        item.path = got.path;
      }
      return commitPlan(s, st, plan);
    },
  };
}

/** Stages a plan and commits it; null when it wrote nothing new (a WORKDIR that exists). */
export async function commitPlan(s: BuildSession, st: StageState, plan: CopyPlan): Promise<LayerRecord | null> {
  const staged = await s.host.stageCopy(plan);
  if (staged.empty) {
    await s.host.removeStaged(staged.dir);
    return null;
  }
  const parent = st.layers[st.layers.length - 1]?.chainId;
  try {
    return await s.host.commitLayer({ dir: staged.dir, ...(parent ? { parentChainId: parent } : {}), compression: s.options.compression });
  } catch (e) {
    await s.host.removeStaged(staged.dir).catch(() => {});
    throw e;
  }
}
