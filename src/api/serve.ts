/**
 * The keeper's Docker API: its containers' lifecycle turned into Docker events, the routes served
 * on the home's API socket (socket-path.ts). Containers made over the API are the keeper's, held
 * like `mayfly run -d` ones.
 */
import { join } from 'node:path';
import type { Runtime } from '../engine/runtime.js';
import type { Holdings } from '../keeper/holdings.js';
import { containerAttributes } from './container-events.js';
import { ApiEvents } from './events.js';
import { routes } from './routes/index.js';
import { reapOrphanedStandIns } from './ryuk.js';
import { ApiServer, fileLog } from './server.js';
import { API_DIR, apiSocketPath } from './socket-path.js';

export interface ServeApiOptions {
  runtime: Runtime;
  holdings: Holdings;
  home: string;
  /** each request: the keeper's idle rules */
  onRequest?: () => void;
}

export async function serveApi(o: ServeApiOptions): Promise<ApiServer> {
  const events = new ApiEvents();
  o.holdings.observe((e) => {
    const attrs = containerAttributes(e.container);
    if (e.action === 'die') attrs.exitCode = String(e.exitCode);
    events.emit('container', e.action, e.container.id, attrs);
    if (e.action === 'die' && e.oomKilled) events.emit('container', 'oom', e.container.id, containerAttributes(e.container));
  });
  const socketPath = apiSocketPath(o.home);
  const ctx = { runtime: o.runtime, holdings: o.holdings, home: o.home, events, socketPath, state: new Map<string, unknown>() };
  await reapOrphanedStandIns(ctx).catch(() => {});
  const server = new ApiServer(ctx, routes, {
    log: fileLog(join(o.home, API_DIR, 'api.log')),
    ...(o.onRequest ? { onRequest: o.onRequest } : {}),
  });
  await server.listen(socketPath);
  return server;
}
