/**
 * Images over the Docker API: pull (`POST /images/create`, with Docker's progress stream), list,
 * inspect, history, tag, remove, push, save (`get`), load, prune and search — each on the keeper's
 * runtime, so that what `docker pull` fetched is what `docker run` and `mayfly run` use.
 */
import { join } from 'node:path';
import { isMayflyError } from '../../core/errors.js';
import { imageDocument } from '../../engine/docker-inspect.js';
import { shortDigest } from '../../image/progress.js';
import { searchImages } from '../../image/search.js';
import { familiarName, parseReference } from '../../image/reference.js';
import type { ImageRecord } from '../../image/store/image-store.js';
import { bodyToFile, sendTarFile, withScratchDir } from '../image-files.js';
import { createdOf, familiarTags, filterImages, imageSummary, matchesLabels } from '../image-summary.js';
import { JsonStream } from '../json-stream.js';
import { PullMessages, pushMessage } from '../progress-messages.js';
import { registryAuth } from '../registry-auth.js';
import { apiError, type ApiCall, type Route } from '../route.js';
import { isRyukImage, ryukImageDocument, ryukPulled } from '../ryuk.js';

/** `fromImage` and `tag` as one reference: the tag may be a digest; a name that has one keeps it. */
export function withTag(name: string, tag: string | null): string {
  if (!tag) return name;
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (last.includes(':') || last.includes('@')) return name;
  return tag.startsWith('sha256:') ? `${name}@${tag}` : `${name}:${tag}`;
}

const familiar = (ref: string) => familiarName(parseReference(ref));

/** how many containers of the keeper run on each image */
function containerCounts(call: ApiCall): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of call.ctx.holdings.all()) {
    const id = c.spec.labels['mayfly.image.id'];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

function list(call: ApiCall) {
  const { runtime } = call.ctx;
  const counts = containerCounts(call);
  return filterImages(runtime.images(), call.filters(), (ref) => safeFind(call, ref))
    .sort((a, b) => createdOf(b).localeCompare(createdOf(a)))
    .map((r) => imageSummary(r, counts.get(r.id) ?? 0, call.version));
}

function safeFind(call: ApiCall, ref: string): ImageRecord | undefined {
  try {
    return call.ctx.runtime.inspect(ref);
  } catch {
    return undefined;
  }
}

async function pull(call: ApiCall) {
  const from = call.query.get('fromImage');
  if (!from) {
    if (call.query.get('fromSrc')) throw apiError(501, 'mayfly does not import images from a URL or a request body (fromSrc): load an image archive with POST /images/load');
    throw apiError(400, 'fromImage is required');
  }
  const ref = withTag(from, call.query.get('tag'));
  if (isRyukImage(ref)) return ryukPulled(call, ref);
  const parsed = parseReference(ref);
  const credentials = registryAuth(call.req.headers['x-registry-auth']);
  const platform = call.query.get('platform') || undefined;
  const { runtime, events } = call.ctx;
  const before = safeFind(call, ref)?.id;
  const out = new JsonStream(call.res);
  const messages = new PullMessages();
  // Docker says where it pulls from once the manifest is found: a missing image is still a 404
  const announce = () => {
    if (!out.started) out.write({ status: `Pulling from ${parsed.repository.replace(/^library\//, '')}`, id: parsed.digest ?? parsed.tag ?? 'latest' });
  };
  await out.run(async () => {
    const record = await runtime.pull(ref, {
      ...(platform ? { platform } : {}),
      ...(credentials ? { credentials } : {}),
      onProgress: (p) => {
        const lines = messages.message(p);
        if (lines.length) announce();
        for (const m of lines) out.write(m);
      },
    });
    announce();
    out.write({ status: `Digest: ${record.manifestDigest}` });
    const fresh = messages.fetched || before !== record.id;
    out.write({ status: `Status: ${fresh ? 'Downloaded newer image for' : 'Image is up to date for'} ${familiarName(parsed)}` });
    events.emit('image', 'pull', familiarName(parsed), { name: familiarName(parsed) });
  });
}

function history(call: ApiCall) {
  const { runtime } = call.ctx;
  const record = runtime.inspect(call.params.name!);
  const tags = familiarTags(record);
  return runtime.history(call.params.name!).map((row, i) => ({
    Id: i === 0 ? record.id : '<missing>',
    Created: Math.floor(new Date(row.created ?? createdOf(record)).getTime() / 1000) || 0,
    CreatedBy: row.createdBy,
    Tags: i === 0 && tags.length ? tags : null,
    Size: row.size,
    Comment: row.comment ?? '',
  }));
}

function tag(call: ApiCall) {
  const repo = call.query.get('repo');
  if (!repo) throw apiError(400, 'repo is required');
  const target = withTag(repo, call.query.get('tag'));
  const record = call.ctx.runtime.tag(call.params.name!, target);
  call.ctx.events.emit('image', 'tag', record.id, { name: familiar(target) });
  return call.reply(201);
}

async function remove(call: ApiCall) {
  const result = await call.ctx.runtime.rmi(call.params.name!, { force: call.flag('force') });
  const answer: Record<string, string>[] = result.untagged.map((n) => ({ Untagged: familiar(n) }));
  for (const n of result.untagged) call.ctx.events.emit('image', 'untag', result.deleted ?? n, { name: familiar(n) });
  if (result.deleted) {
    answer.push({ Deleted: result.deleted });
    call.ctx.events.emit('image', 'delete', result.deleted, { name: result.deleted });
  }
  return answer;
}

async function push(call: ApiCall) {
  const ref = withTag(call.params.name!, call.query.get('tag'));
  const { runtime, events } = call.ctx;
  const record = runtime.inspect(ref);
  const parsed = parseReference(ref);
  const credentials = registryAuth(call.req.headers['x-registry-auth']);
  const source = record.source.includes('/') && !record.source.startsWith('archive:') ? record.source.slice(record.source.indexOf('/') + 1) : undefined;
  const out = new JsonStream(call.res);
  out.write({ status: `The push refers to repository [${parsed.registry}/${parsed.repository}]` });
  let size = 0;
  await out.run(async () => {
    const result = await runtime.push(ref, {
      ...(credentials ? { credentials } : {}),
      onProgress: (p) => {
        if (p.item === 'manifest' && p.total) size = p.total;
        const m = pushMessage(p, shortDigest(record.id), source);
        if (m) out.write(m);
      },
    });
    const tagName = parsed.tag ?? 'latest';
    out.write({ status: `${tagName}: digest: ${result.digest} size: ${size}` });
    out.write({ progressDetail: {}, aux: { Tag: tagName, Digest: result.digest, Size: size } });
    events.emit('image', 'push', familiarName(parsed), { name: familiarName(parsed) });
  });
}

/** `docker search`: Docker Hub's search, or a registry's catalog for `REGISTRY/TERM` (image/search.ts). */
async function search(call: ApiCall) {
  const term = call.query.get('term');
  if (!term) throw apiError(400, 'term is required');
  const f = call.filters();
  const minStars = Number(f.stars?.[0] ?? 0);
  const official = f['is-official']?.[0];
  const results = await searchImages(term, { limit: call.int('limit') ?? 25, configFile: join(call.ctx.home, 'config.json') });
  return results
    .filter((r) => r.stars >= minStars && (official === undefined || r.official === /^(1|true)$/i.test(official)))
    .map((r) => ({ name: r.name, description: r.description, star_count: r.stars, is_official: r.official, is_automated: false }));
}

/** `docker save`: an OCI image layout tar (save.ts), which `docker load` into mayfly reads back. */
async function save(call: ApiCall, names: string[]) {
  if (!names.length) throw apiError(400, 'names is required');
  const { runtime, home } = call.ctx;
  for (const n of names) runtime.inspect(n); // a missing one is a 404 before any byte goes
  await withScratchDir(home, 'save', async (dir) => {
    const file = join(dir, 'images.tar');
    await runtime.save(names, file);
    await sendTarFile(call.res, file);
  });
}

async function load(call: ApiCall) {
  const { runtime, home, events } = call.ctx;
  const out = new JsonStream(call.res);
  await withScratchDir(home, 'load', async (dir) => {
    const file = join(dir, 'images.tar');
    await bodyToFile(call.req, file);
    const before = new Map(runtime.images().map((r) => [r.id, new Set(r.names)]));
    const records = await runtime.load(file);
    for (const r of records) {
      // the names the archive gave (an image already here keeps its other names, which Docker does not report)
      const added = r.names.filter((n) => !before.get(r.id)?.has(n));
      const tags = familiarTags({ ...r, names: added.length ? added : r.names });
      for (const t of tags) out.write({ stream: `Loaded image: ${t}\n` });
      if (!tags.length) out.write({ stream: `Loaded image ID: ${r.id}\n` });
      events.emit('image', 'load', r.id, { name: tags[0] ?? r.id });
    }
    out.end();
  });
}

/**
 * Removes the images no container uses: untagged ones, or (`dangling=false`) every one, narrowed
 * by `label` filters. An image a container holds on to is kept, as Docker keeps it.
 */
async function prune(call: ApiCall) {
  const { runtime, events } = call.ctx;
  const filters = call.filters();
  const danglingOnly = !filters.dangling?.length || /^(1|true)$/i.test(filters.dangling[0]!);
  const used = containerCounts(call);
  const deleted: Record<string, string>[] = [];
  let reclaimed = 0;
  for (const r of runtime.images()) {
    if (danglingOnly && r.names.length) continue;
    if (used.has(r.id)) continue;
    if (filters.label?.length && !matchesLabels(r.config.config?.Labels, filters.label)) continue;
    try {
      // names one by one: removing the last one removes the image
      for (const name of r.names.slice(0, -1)) {
        await runtime.rmi(name);
        deleted.push({ Untagged: familiar(name) });
      }
      const result = await runtime.rmi(r.names.at(-1) ?? r.id);
      for (const n of result.untagged) deleted.push({ Untagged: familiar(n) });
      if (result.deleted) {
        deleted.push({ Deleted: result.deleted });
        reclaimed += r.size;
        events.emit('image', 'delete', result.deleted, { name: result.deleted });
      }
    } catch (e) {
      if (!isMayflyError(e, 'IMAGE_IN_USE')) throw e;
    }
  }
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
}

/**
 * A missing image in Docker's words: clients match "No such image" in the 404's message (docker-py,
 * and so docker-compose, pulls only when it reads them).
 */
function noSuchImage(handle: (call: ApiCall) => unknown): (call: ApiCall) => Promise<unknown> {
  return async (call) => {
    try {
      return await handle(call);
    } catch (e) {
      if (isMayflyError(e, 'IMAGE_NOT_FOUND') && !call.res.headersSent) {
        const ref = e.message.match(/^no such image in the store: (.+?)(\n|$)/)?.[1];
        if (ref) throw apiError(404, `No such image: ${ref}`);
      }
      throw e;
    }
  };
}

const routes: Route[] = [
  { method: 'GET', path: '/images/json', handle: list },
  { method: 'POST', path: '/images/create', handle: pull },
  { method: 'GET', path: '/images/get', handle: (call) => save(call, call.query.getAll('names')) },
  { method: 'GET', path: '/images/search', handle: search },
  { method: 'POST', path: '/images/load', handle: load },
  { method: 'POST', path: '/images/prune', handle: prune },
  { method: 'GET', path: '/images/*name/json', handle: (call) => (isRyukImage(call.params.name!) ? ryukImageDocument(call.params.name!) : imageDocument(call.ctx.runtime.inspect(call.params.name!))) },
  { method: 'GET', path: '/images/*name/history', handle: history },
  { method: 'GET', path: '/images/*name/get', handle: (call) => save(call, [call.params.name!]) },
  { method: 'POST', path: '/images/*name/tag', handle: tag },
  { method: 'POST', path: '/images/*name/push', handle: push },
  { method: 'DELETE', path: '/images/*name', handle: remove },
];

export const imageRoutes: Route[] = routes.map((r) => ({ ...r, handle: noSuchImage(r.handle) }));
