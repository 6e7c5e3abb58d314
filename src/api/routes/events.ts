/**
 * `GET /events`: Docker's event stream, one JSON object a line — what happened since `since`,
 * then what happens, until `until` or until the client leaves. Filters: type, event, container (ID
 * or name), image, label, network.
 */
import type { DockerEvent } from '../events.js';
import { apiError, type ApiCall, type Route } from '../route.js';

function timeNano(call: ApiCall, name: string): number | undefined {
  const raw = call.query.get(name);
  if (!raw) return undefined;
  const n = Number(raw);
  const ms = Number.isFinite(n) ? n * 1000 : Date.parse(raw);
  if (!Number.isFinite(ms)) throw apiError(400, `invalid ${name}: ${raw}`);
  return ms * 1_000_000;
}

function matcher(filters: Record<string, string[]>): (e: DockerEvent) => boolean {
  return (e) => {
    for (const [key, values] of Object.entries(filters)) {
      if (!values.length) continue;
      const attrs = e.Actor.Attributes;
      const ok =
        key === 'type'
          ? values.includes(e.Type)
          : key === 'event'
            ? values.some((v) => e.Action === v || e.Action.startsWith(`${v}:`))
            : key === 'container'
              ? e.Type === 'container' && values.some((v) => e.Actor.ID.startsWith(v) || attrs.name === v)
              : key === 'image'
                ? values.some((v) => attrs.image === v || attrs.image?.startsWith(`${v}:`))
                : key === 'label'
                  ? values.every((v) => {
                      const i = v.indexOf('=');
                      return i < 0 ? v in attrs : attrs[v.slice(0, i)] === v.slice(i + 1);
                    })
                  : key === 'network'
                    ? e.Type === 'network' && values.some((v) => e.Actor.ID.startsWith(v) || attrs.name === v)
                    : true;
      if (!ok) return false;
    }
    return true;
  };
}

function events(call: ApiCall) {
  const { ctx } = call;
  const since = timeNano(call, 'since');
  const until = timeNano(call, 'until');
  const keep = matcher(call.filters());
  call.res.writeHead(200, { 'Content-Type': 'application/json' });
  call.res.flushHeaders();
  const send = (e: DockerEvent) => {
    if (keep(e) && !call.res.writableEnded) call.res.write(`${JSON.stringify(e)}\n`);
  };
  if (since !== undefined) for (const e of ctx.events.since(since)) if (until === undefined || e.timeNano <= until) send(e);
  const now = Date.now() * 1_000_000;
  if (until !== undefined && until <= now) {
    call.res.end();
    return undefined;
  }
  const off = ctx.events.subscribe(send);
  const timer = until !== undefined ? setTimeout(() => call.res.end(), (until - now) / 1_000_000) : undefined;
  call.res.once('close', () => {
    off();
    if (timer) clearTimeout(timer);
  });
  return undefined;
}

export const eventRoutes: Route[] = [{ method: 'GET', path: '/events', handle: events }];
