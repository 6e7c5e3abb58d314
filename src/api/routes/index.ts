/** Every route of the Docker API, one module a line (route.ts says how a module is written). */
import type { Route } from '../route.js';
import { systemRoutes } from './system.js';

export const routes: Route[] = [
  ...systemRoutes,
];
