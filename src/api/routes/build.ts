/**
 * `POST /build`: the classic builder's protocol (what `docker build` speaks when the daemon's
 * `/_ping` says Builder-Version 1, and what docker-compose and Testcontainers send): the context
 * as a tar body, options in the query, and the answer a JSON-lines stream of `{"stream": …}`
 * (steps, RUN output), `{"aux": {"ID"}}`, then "Successfully built/tagged" — the lines clients
 * read the image ID from. The build itself is mayfly's builder (src/dockerfile), on the keeper's runtime.
 */
import { isAbsolute, join, normalize, relative } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { x as tarExtract } from 'tar';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { closeSync, createReadStream, mkdirSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import { familiarName, parseReference } from '../../image/reference.js';
import { bodyToFile, withScratchDir } from '../image-files.js';
import { JsonStream } from '../json-stream.js';
import { registryConfig } from '../registry-auth.js';
import { apiError, type ApiCall, type Route } from '../route.js';

/** Query parameters that change a classic build in ways mayfly's builder does not have. */
const UNSUPPORTED: Record<string, string> = {
  remote: 'a remote context (git URL or tarball URL): send the context as the request body',
  squash: 'squash',
  cachefrom: 'cache-from: mayfly caches layers locally only',
  outputs: 'outputs (a BuildKit feature)',
};

const stringMap = z.record(z.string(), z.string().nullable());

/** `buildargs` and `labels` are JSON objects in one query parameter; a null arg value means "unset". */
function jsonMap(call: ApiCall, name: string): Record<string, string> {
  const raw = call.query.get(name);
  if (!raw) return {};
  let parsed: z.output<typeof stringMap>;
  try {
    parsed = stringMap.parse(JSON.parse(raw));
  } catch {
    throw apiError(400, `${name}: a JSON object of strings is expected`);
  }
  return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => e[1] !== null));
}

/** The Dockerfile named in the query, inside the context (a path out of it is refused). */
function dockerfileIn(context: string, name: string | null): string {
  const rel = normalize(name || 'Dockerfile');
  const path = isAbsolute(rel) ? rel : join(context, rel);
  const inside = relative(context, path);
  if (inside.startsWith('..') || isAbsolute(inside)) throw apiError(400, `dockerfile ${name}: must be a path inside the build context`);
  return path;
}

/**
 * The docker CLI sends a Dockerfile from outside the context (`-f ../x`) appended to the context's
 * tar without the padding of its last block and without the end-of-archive blocks, which Go's tar
 * reader forgives and node-tar's does not: an uncompressed context gets them here (a tar that has
 * them already just gains zero blocks, which mean nothing after its end).
 */
function completeTar(): Transform {
  let size = 0;
  let gzip: boolean | undefined;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      gzip ??= chunk[0] === 0x1f && chunk[1] === 0x8b;
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      if (gzip || size === 0) return done();
      done(null, Buffer.alloc((512 - (size % 512)) % 512 + 1024));
    },
  });
}

/** A tar (its `ustar` magic) or a gzip stream, rather than a Dockerfile sent alone. */
function isArchive(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(263);
    const n = readSync(fd, head, 0, head.length, 0);
    return (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) || (n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar');
  } finally {
    closeSync(fd);
  }
}

/** Output bytes to text without splitting a UTF-8 character across two messages. */
function textOf(decoders: Map<string, StringDecoder>, stream: string, data: Uint8Array): string {
  let d = decoders.get(stream);
  if (!d) decoders.set(stream, (d = new StringDecoder('utf8')));
  return d.write(Buffer.from(data));
}

async function build(call: ApiCall): Promise<void> {
  for (const [param, why] of Object.entries(UNSUPPORTED)) {
    const v = call.query.get(param);
    if (v && v !== '[]' && v !== '{}' && v !== '0' && v !== 'false') throw apiError(501, `mayfly's builder does not support ${why}`);
  }
  if (call.query.get('version') === '2') throw apiError(501, 'BuildKit sessions (version=2) are not supported: mayfly speaks the classic build protocol (Builder-Version 1)');
  const tags = call.query.getAll('t').filter(Boolean);
  for (const t of tags) parseReference(t); // a bad name is a 400 before the context is read
  const buildArgs = jsonMap(call, 'buildargs');
  const labels = jsonMap(call, 'labels');
  const quiet = call.flag('q');
  const credentials = registryConfig(call.req.headers['x-registry-config']);
  const { runtime, home, events } = call.ctx;
  const out = new JsonStream(call.res);
  await withScratchDir(home, 'build', async (dir) => {
    const context = join(dir, 'context');
    mkdirSync(context);
    const body = join(dir, 'body');
    await bodyToFile(call.req, body);
    let dockerfile: string;
    if (isArchive(body)) {
      // gzip or plain, told by the bytes; absolute paths and `..` are stripped, links are not followed out
      try {
        await pipeline(createReadStream(body), completeTar(), tarExtract({ cwd: context, preserveOwner: false, strict: true }));
      } catch (e) {
        throw apiError(400, `the build context is not a readable tar archive: ${(e as Error).message}`);
      }
      dockerfile = dockerfileIn(context, call.query.get('dockerfile'));
    } else {
      // `docker build - < Dockerfile`: the body is the Dockerfile itself, and the context is empty
      dockerfile = body;
    }
    out.start();
    const decoders = new Map<string, StringDecoder>();
    // a client that goes away (Ctrl-C on `docker build`) stops the build and its RUN container
    const gone = new AbortController();
    call.res.once('close', () => {
      if (!call.res.writableFinished) gone.abort();
    });
    await out.run(async () => {
      const target = call.query.get('target');
      const record = await runtime.build({
        context,
        dockerfile,
        ...(tags.length ? { tag: tags } : {}),
        ...(target ? { target } : {}),
        buildArgs,
        labels,
        noCache: call.flag('nocache'),
        pull: call.flag('pull'),
        signal: gone.signal,
        ...(quiet
          ? {}
          : {
              onStep: (s) => {
                out.write({ stream: `Step ${s.index}/${s.total} : ${s.text}\n` });
                if (s.cached) out.write({ stream: ' ---> Using cache\n' });
              },
              onOutput: (stream, data) => {
                const text = textOf(decoders, stream, data);
                if (text) out.write({ stream: text });
              },
              onWarning: (message) => out.write({ stream: `[WARNING]: ${message}\n` }),
            }),
      }, { credentials });
      out.write({ aux: { ID: record.id } });
      if (quiet) out.write({ stream: `${record.id}\n` });
      else {
        out.write({ stream: `Successfully built ${record.id.replace(/^sha256:/, '').slice(0, 12)}\n` });
        for (const t of tags) out.write({ stream: `Successfully tagged ${familiarName(parseReference(t))}\n` });
      }
      for (const t of tags) events.emit('image', 'tag', record.id, { name: familiarName(parseReference(t)) });
    });
  });
}

export const buildRoutes: Route[] = [{ method: 'POST', path: '/build', handle: build }];
