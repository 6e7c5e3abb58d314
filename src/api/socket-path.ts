/** Where a home's Docker API socket lives: in a directory of its own, 0700, so only its owner reaches it. */
import { join } from 'node:path';

export const API_DIR = 'api';
export const API_SOCKET = 'docker.sock';

export const apiSocketPath = (home: string) => join(home, API_DIR, API_SOCKET);

export const dockerHost = (home: string) => `unix://${apiSocketPath(home)}`;
