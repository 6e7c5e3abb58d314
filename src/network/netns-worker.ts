/**
 * A worker thread that lives in containers' network namespaces: a rootless process can enter a
 * namespace its user namespace owns, but can never go back to the host's. So the sandbox's main
 * thread stays on the host, and this thread moves between containers, making one socket at a time.
 * Descriptors belong to the whole process: the main thread wraps the number it gets back.
 */
import { closeSync, openSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import * as sys from '../runtime/syscalls.js';

export interface SocketRequest {
  id: number;
  /** /proc/PID/ns/net of the container */
  netns: string;
}

export type SocketReply = { id: number; fd: number } | { id: number; error: string };

parentPort!.on('message', (req: SocketRequest) => {
  let ns = -1;
  try {
    ns = openSync(req.netns, 'r');
    sys.setns(ns, sys.CLONE.NEWNET);
    parentPort!.postMessage({ id: req.id, fd: sys.tcpSocket() } satisfies SocketReply);
  } catch (e) {
    parentPort!.postMessage({ id: req.id, error: (e as Error).message } satisfies SocketReply);
  } finally {
    if (ns >= 0) closeSync(ns);
  }
});
