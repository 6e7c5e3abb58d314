/**
 * The containers' lifecycle over the API: create, inspect, list, start, stop, kill, restart, pause,
 * unpause, wait, remove, resize, top, changes, stats, prune, commit. Containers are the keeper's,
 * held like `mayfly run -d` ones (persistent until removed).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { isMayflyError } from '../../core/errors.js';
import type { Container } from '../../engine/runtime.js';
import { containerProcesses } from '../../runtime/process-tree.js';
import { readState } from '../../model/container-state.js';
import { createBodySchema, createPlan, envRecord, type DockerHealthcheck } from '../container-create.js';
import { extrasOf, findContainer, forgetExtras, inspectContainer, isLive, listEntry, matchesFilters } from '../container-documents.js';
import { HealthMonitor } from '../health.js';
import { apiError, shared, type ApiCall, type ApiContext, type Route } from '../route.js';
import { containerAttributes } from '../container-events.js';
import { createRyukStandIn, isRyukImage } from '../ryuk.js';

/** Health monitors stop with their container; a destroyed container's extras go. */
function watchLifecycle(ctx: ApiContext): void {
  shared(ctx, 'containers-lifecycle', () =>
    ctx.holdings.observe((e) => {
      if (e.action === 'die') extrasOf(ctx, e.container.id).health?.stop();
      if (e.action === 'destroy') forgetExtras(ctx, e.container.id);
    }),
  );
}

function imageHealthcheck(ctx: ApiContext, c: Container): DockerHealthcheck | undefined {
  const id = c.spec.labels['mayfly.image.id'];
  if (!id) return undefined;
  try {
    const h = ctx.runtime.inspect(id).config.config?.Healthcheck as DockerHealthcheck | undefined;
    return h?.Test?.length ? h : undefined;
  } catch {
    return undefined;
  }
}

function startHealth(ctx: ApiContext, c: Container): void {
  const extras = extrasOf(ctx, c.id);
  const h = extras.healthcheck;
  if (!h?.Test?.length || h.Test[0] === 'NONE') return;
  extras.health?.stop();
  extras.health = new HealthMonitor(c, { ...h, Test: h.Test }, (status) => ctx.events.emit('container', `health_status: ${status}`, c.id, containerAttributes(c)));
  extras.health.start();
}

async function create(call: ApiCall) {
  const { ctx } = call;
  watchLifecycle(ctx);
  const body = await call.json(createBodySchema);
  const name = call.query.get('name') ?? undefined;
  if (name && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) throw apiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  const plan = createPlan(body, name);
  const taken = name ? ctx.holdings.all().find((c) => c.name === name.replace(/^\//, '')) : undefined;
  if (taken) throw apiError(409, `Conflict. The container name "/${taken.name}" is already in use by container "${taken.id}". You have to remove (or rename) that container to be able to reuse that name.`);
  if (isRyukImage(body.Image)) {
    const c = await createRyukStandIn(ctx, { name: plan.options.name, labels: body.Labels ?? {}, env: envRecord(body.Env) });
    return call.reply(201, { Id: c.id, Warnings: [] });
  }
  let c: Container;
  try {
    c = await ctx.holdings.create(plan.options, { persistent: true, ...(plan.autoRemove ? { autoRemove: true } : {}) });
  } catch (e) {
    if (isMayflyError(e, 'IMAGE_NOT_FOUND')) throw apiError(404, `No such image: ${body.Image}`);
    throw e;
  }
  const healthcheck = plan.healthcheck?.Test?.length ? plan.healthcheck : imageHealthcheck(ctx, c);
  if (healthcheck) extrasOf(ctx, c.id).healthcheck = healthcheck;
  return call.reply(201, { Id: c.id, Warnings: [] });
}

async function start(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (isLive(c)) return call.reply(304);
  await call.ctx.holdings.start(c);
  startHealth(call.ctx, c);
  return call.noContent();
}

async function stop(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (!isLive(c)) return call.reply(304);
  const t = call.int('t') ?? call.int('timeout');
  const signal = call.query.get('signal');
  await c.stop({ ...(t !== undefined && t >= 0 ? { timeout: t } : {}), ...(signal ? { signal } : {}) });
  call.ctx.events.emit('container', 'stop', c.id, containerAttributes(c));
  return call.noContent();
}

async function kill(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (!isLive(c)) throw apiError(409, `Cannot kill container: ${call.params.id}: Container ${c.id} is not running`);
  const signal = call.query.get('signal') || 'SIGKILL';
  await c.kill(/^\d+$/.test(signal) || signal.startsWith('SIG') ? signal : `SIG${signal}`);
  call.ctx.events.emit('container', 'kill', c.id, { ...containerAttributes(c), signal });
  return call.noContent();
}

async function restart(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const t = call.int('t') ?? call.int('timeout');
  if (isLive(c)) await c.stop(t !== undefined && t >= 0 ? { timeout: t } : {});
  await call.ctx.holdings.start(c);
  startHealth(call.ctx, c);
  call.ctx.events.emit('container', 'restart', c.id, containerAttributes(c));
  return call.noContent();
}

async function pause(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (c.status !== 'running') throw apiError(409, `Container ${c.id} is not running`);
  await c.pause();
  call.ctx.events.emit('container', 'pause', c.id, containerAttributes(c));
  return call.noContent();
}

async function unpause(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (c.status !== 'paused') throw apiError(409, `Container ${c.id} is not paused`);
  await c.unpause();
  call.ctx.events.emit('container', 'unpause', c.id, containerAttributes(c));
  return call.noContent();
}

async function remove(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (isLive(c) && !call.flag('force')) {
    throw apiError(409, `You cannot remove a running container ${c.id}. Stop the container before attempting removal or force remove`);
  }
  await call.ctx.holdings.remove(c, call.flag('v'));
  return call.noContent();
}

/** `POST /containers/{id}/wait`: the status code once it is no longer running (next-exit: its next exit; removed: once gone). */
async function wait(call: ApiCall) {
  const { ctx } = call;
  const c = findContainer(ctx, call.params.id!);
  const condition = call.query.get('condition') || 'not-running';
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw apiError(400, `invalid condition "${condition}": not-running, next-exit or removed`);
  const done = (code: number) => ({ StatusCode: code, Error: null });
  if (condition === 'not-running' && !isLive(c)) return done(c.exitStatus?.exitCode ?? 0);
  // the headers go at once, the body when it has ended: clients time their wait from the headers
  call.res.writeHead(200, { 'Content-Type': 'application/json' });
  call.res.flushHeaders();
  const code = await new Promise<number | undefined>((resolve) => {
    const off = ctx.holdings.observe((e) => {
      if (e.container.id !== c.id) return;
      if (e.action === 'die' && condition !== 'removed') finish(e.exitCode);
      if (e.action === 'destroy') finish(c.exitStatus?.exitCode ?? 0);
    });
    const gone = () => finish(undefined);
    call.res.once('close', gone);
    function finish(v: number | undefined) {
      off();
      call.res.off('close', gone);
      resolve(v);
    }
    if (condition === 'removed' && !ctx.holdings.has(c.id)) finish(c.exitStatus?.exitCode ?? 0);
  });
  if (code !== undefined) call.res.end(JSON.stringify(done(code)));
  return undefined;
}

async function resize(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const rows = call.int('h');
  const cols = call.int('w');
  if (!rows || !cols) throw apiError(400, 'resize needs h and w');
  if (!isLive(c)) throw apiError(409, `Container ${c.id} is not running`);
  if (c.spec.tty) await c.resize({ cols, rows });
  return call.reply(200);
}

const CLOCK_TICKS = 100;

/** `GET /containers/{id}/top`: the container's processes, read from the sandbox's /proc (its PID numbers are the sandbox's). */
function top(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  if (!isLive(c)) throw apiError(409, `Container ${c.id} is not running`);
  const pid1 = readState(c.dir)?.pid;
  const sandboxPid = call.ctx.runtime.sandbox.processId();
  if (!pid1) throw apiError(409, `Container ${c.id} is not running`);
  const proc = sandboxPid ? `/proc/${sandboxPid}/root/proc` : '/proc';
  const processes: string[][] = [];
  for (const pid of containerProcesses(pid1, proc)) {
    try {
      const stat = readFileSync(`${proc}/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ppid = fields[1]!;
      const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`${proc}/${pid}/status`, 'utf8'))?.[1] ?? '';
      const cmd = readFileSync(`${proc}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const time = [cpu / 3600, (cpu % 3600) / 60, cpu % 60].map((n) => String(Math.floor(n)).padStart(2, '0')).join(':');
      processes.push([uid, String(pid), ppid, '0', '', '?', time, cmd]);
    } catch {
      // it ended meanwhile
    }
  }
  return { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: processes };
}

/** `GET /containers/{id}/changes`: its writable layer read as Docker's diff (0 modified, 1 added, 2 deleted). */
function changes(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const upper = join(c.dir, 'upper');
  const out: { Path: string; Kind: number }[] = [];
  const inLower = (rel: string) => c.spec.layers.some((l) => statSync(join(l, rel), { throwIfNoEntry: false }) !== undefined);
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(upper, rel), { withFileTypes: true });
    } catch {
      return; // not readable from here (another owner's directory)
    }
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      const st = statSync(join(upper, path), { throwIfNoEntry: false });
      // a whiteout (character device 0/0): deleted
      if (st?.isCharacterDevice() && st.rdev === 0) out.push({ Path: path, Kind: 2 });
      else out.push({ Path: path, Kind: inLower(path) ? 0 : 1 });
      if (e.isDirectory()) walk(path);
    }
  };
  walk('');
  return out.length ? out : null;
}

async function statsDocument(c: Container): Promise<Record<string, unknown>> {
  const s = isLive(c) ? await c.stats() : { source: 'proc' as const };
  const now = new Date().toISOString();
  return {
    read: now,
    preread: '0001-01-01T00:00:00Z',
    id: c.id,
    name: `/${c.name}`,
    pids_stats: { current: s.pids ?? 0 },
    cpu_stats: { cpu_usage: { total_usage: s.cpuNs ?? 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, system_cpu_usage: 0, online_cpus: 1, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    precpu_stats: { cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 }, throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 } },
    // no limit: the machine's memory, as Docker reports it
    memory_stats: { usage: s.memoryBytes ?? 0, limit: s.memoryLimit ?? totalmem(), stats: {} },
    blkio_stats: { io_service_bytes_recursive: null },
    networks: {},
  };
}

/** `GET /containers/{id}/stats`: one document with `stream=false`, else one a second until the client leaves. */
async function stats(call: ApiCall) {
  const c = findContainer(call.ctx, call.params.id!);
  const stream = call.query.get('stream') === null ? true : call.flag('stream');
  if (!stream || call.flag('one-shot')) return statsDocument(c);
  call.res.writeHead(200, { 'Content-Type': 'application/json' });
  let open = true;
  call.res.once('close', () => (open = false));
  while (open && isLive(c)) {
    call.res.write(`${JSON.stringify(await statsDocument(c))}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  call.res.end();
  return undefined;
}

function list(call: ApiCall) {
  const { ctx } = call;
  const all = call.flag('all');
  const filters = call.filters();
  let out = ctx.holdings
    .all()
    .filter((c) => all || isLive(c) || filters.status?.length)
    .filter((c) => matchesFilters(ctx, c, filters))
    .map((c) => listEntry(ctx, c))
    .sort((a, b) => (b.Created as number) - (a.Created as number));
  const limit = call.int('limit');
  if (limit !== undefined && limit > 0) out = out.slice(0, limit);
  return out;
}

async function prune(call: ApiCall) {
  const { ctx } = call;
  const filters = call.filters();
  const removed: string[] = [];
  for (const c of ctx.holdings.all()) {
    if (isLive(c) || !matchesFilters(ctx, c, { label: filters.label ?? [] })) continue;
    await ctx.holdings.remove(c);
    removed.push(c.id);
  }
  return { ContainersDeleted: removed.length ? removed : null, SpaceReclaimed: 0 };
}

/** `POST /commit?container=…&repo=…&tag=…`: the container's changes as a new image (the keeper's commit). */
async function commit(call: ApiCall) {
  const ref = call.query.get('container');
  if (!ref) throw apiError(400, 'commit needs the container query parameter');
  const c = findContainer(call.ctx, ref);
  const body = await call.json(z.object({ Labels: z.record(z.string(), z.string()).nullish() }));
  const repo = call.query.get('repo');
  const tag = call.query.get('tag');
  const changes = call.query.getAll('changes').flatMap((x) => x.split('\n')).filter(Boolean);
  for (const [k, v] of Object.entries(body.Labels ?? {})) changes.push(`LABEL ${JSON.stringify(k)}=${JSON.stringify(v)}`);
  const record = await call.ctx.holdings.commit(c, {
    ...(repo ? { name: tag ? `${repo}:${tag}` : repo } : {}),
    changes,
    comment: call.query.get('comment') ?? undefined,
    author: call.query.get('author') ?? undefined,
    pause: call.query.get('pause') === null ? true : call.flag('pause'),
  });
  return call.reply(201, { Id: record.id });
}

export const containerRoutes: Route[] = [
  { method: 'POST', path: '/containers/create', handle: create },
  { method: 'GET', path: '/containers/json', handle: list },
  { method: 'POST', path: '/containers/prune', handle: prune },
  { method: 'GET', path: '/containers/:id/json', handle: (call) => inspectContainer(call.ctx, findContainer(call.ctx, call.params.id!)) },
  { method: 'POST', path: '/containers/:id/start', handle: start },
  { method: 'POST', path: '/containers/:id/stop', handle: stop },
  { method: 'POST', path: '/containers/:id/kill', handle: kill },
  { method: 'POST', path: '/containers/:id/restart', handle: restart },
  { method: 'POST', path: '/containers/:id/pause', handle: pause },
  { method: 'POST', path: '/containers/:id/unpause', handle: unpause },
  { method: 'POST', path: '/containers/:id/wait', handle: wait },
  { method: 'POST', path: '/containers/:id/resize', handle: resize },
  { method: 'DELETE', path: '/containers/:id', handle: remove },
  { method: 'GET', path: '/containers/:id/top', handle: top },
  { method: 'GET', path: '/containers/:id/changes', handle: changes },
  { method: 'GET', path: '/containers/:id/stats', handle: stats },
  { method: 'POST', path: '/commit', handle: commit },
];
