/** Every route of the Docker API, one module a line (route.ts says how a module is written). */
import type { Route } from '../route.js';
import { archiveRoutes } from './archive.js';
import { containerStreamRoutes } from './container-streams.js';
import { containerRoutes } from './containers.js';
import { eventRoutes } from './events.js';
import { execRoutes } from './exec.js';
import { systemRoutes } from './system.js';
import { imageRoutes } from './images.js';
import { buildRoutes } from './build.js';
import { networkRoutes } from './networks.js';
import { volumeRoutes } from './volumes.js';

export const routes: Route[] = [
  ...systemRoutes,
  ...containerRoutes,
  ...containerStreamRoutes,
  ...execRoutes,
  ...archiveRoutes,
  ...eventRoutes,
  ...imageRoutes,
  ...buildRoutes,
  ...networkRoutes,
  ...volumeRoutes,
];
