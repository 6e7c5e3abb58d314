/**
 * `presets.staticSite(folder)`: a folder served over HTTP on a free port by nginx (the official
 * image by default). The folder becomes an image layer, cached by content: an unchanged folder
 * starts from the image it made last time without building anything (static-site-image.ts).
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { MayflyError } from '../core/errors.js';
import { startContainer, type StartOptions } from '../harness/start.js';
import type { StartedContainer } from '../harness/started-container.js';
import { sharedRuntime } from '../harness/session.js';
import { Wait } from '../harness/wait/index.js';
import { imageOptions, imageReference, parsePresetOptions } from './preset-options.js';
import { existingDirectory } from './preset-paths.js';
import { HEADER_NAME, HEADER_VALUE, nginxConf } from './static-site-conf.js';
import { siteImage, stageSiteImage } from './static-site-image.js';
import { StartedService } from './started-service.js';

export const NGINX_IMAGE = 'nginx';
export const NGINX_DEFAULT_TAG = '1';
const PORT = 80;

export const staticSiteOptionsSchema = z.strictObject({
  ...imageOptions,
  /** unknown paths are answered with /index.html (client-side routing), not 404 */
  spa: z.boolean().default(false),
  /** a listing for folders without an index.html */
  directoryListing: z.boolean().default(false),
  /** response headers sent with every answer, e.g. `{ 'Cache-Control': 'no-store' }` */
  headers: z
    .record(
      z.string().regex(HEADER_NAME, { message: 'expected an HTTP header name like "Cache-Control"' }),
      z.string().regex(HEADER_VALUE, { message: 'a header value cannot hold line breaks or control characters' }),
    )
    .default({}),
});

export type StaticSiteOptions = z.input<typeof staticSiteOptionsSchema>;

/** The site's files as a Dockerfile stage builds them: `{ context: '.', target: 'build', path: '/app/dist' }`. */
export const stageSourceSchema = z.strictObject({
  /** the build context */
  context: existingDirectory,
  /** default: `<context>/Dockerfile` */
  dockerfile: z.string().min(1).transform((p) => resolve(p)).optional(),
  /** the stage that makes the files (default: the last) */
  target: z.string().min(1).optional(),
  /** the folder of that stage to serve */
  path: z.string().refine((p) => isAbsolute(p), { message: 'path must be absolute, e.g. /app/dist' }),
  buildArgs: z.record(z.string(), z.string()).optional(),
});

export type StageSourceInput = z.input<typeof stageSourceSchema>;

export class StartedStaticSite extends StartedService {
  /** @internal */
  constructor(
    started: StartedContainer,
    /** the site's image, `localhost/mayfly-static:<hash>` */
    readonly image: string,
    /** whether this start built the image (false: an unchanged folder found it in the store) */
    readonly built: boolean,
  ) {
    super(started);
  }

  /** The host port the site is served on. */
  get mappedPort(): number {
    return this.port(PORT);
  }

  /** `http://127.0.0.1:PORT` — the site's origin, without a trailing slash. */
  connectionString(): string {
    return `http://${this.address(PORT)}`;
  }

  /** `http://127.0.0.1:PORT/path` */
  siteUrl(path = '/'): string {
    return `${this.connectionString()}${path.startsWith('/') ? path : `/${path}`}`;
  }
}

/**
 * Serves a folder (relative to the working directory, or absolute) — or the folder a Dockerfile
 * stage builds, `{ context, target, path }` — over HTTP:
 * `await using site = await presets.staticSite('./dist', { spa: true })`, then `fetch(site.siteUrl('/'))`.
 */
export async function staticSite(source: string | StageSourceInput, options: StaticSiteOptions = {}, start: StartOptions = {}): Promise<StartedStaticSite> {
  const parsed =
    typeof source === 'string'
      ? parsePresetOptions('staticSite', z.strictObject({ folder: existingDirectory }), { folder: source }).folder
      : parsePresetOptions('staticSite', z.strictObject({ source: stageSourceSchema }), { source }).source;
  const o = parsePresetOptions('staticSite', staticSiteOptionsSchema, options);
  if (typeof parsed === 'string' && o.spa && !existsSync(join(parsed, 'index.html'))) {
    throw new MayflyError('INVALID_OPTION', `invalid presets.staticSite options:\n  spa: ${parsed} has no index.html for unknown paths to fall back to`);
  }
  const base = imageReference('staticSite', NGINX_IMAGE, NGINX_DEFAULT_TAG, o);
  const rt = start.runtime ?? (await sharedRuntime());
  const workDir = join(rt.info.runDir, 'staging');
  const conf = nginxConf(o);
  const image = typeof parsed === 'string' ? await siteImage(rt, { base, conf, folder: parsed, workDir }) : await stageSiteImage(rt, { base, conf, source: parsed, workDir });
  const started = await startContainer(
    {
      image: image.record.id,
      pull: 'never',
      exposedPorts: [PORT],
      // any answer is nginx serving: a folder without index.html answers 403 at /
      wait: Wait.forHttp('/', PORT, { status: (s) => s < 500 }),
      ...(o.startupTimeout ? { startupTimeout: o.startupTimeout } : {}),
    },
    { ...start, runtime: rt },
  );
  return new StartedStaticSite(started, image.name, image.built);
}
