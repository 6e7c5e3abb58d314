/**
 * A shared sandbox's socket (in its run directory): every Runtime of one MAYFLY_HOME and one set of
 * start settings connects here instead of starting a sandbox of its own. Each connection is a peer:
 * it gets the sandbox's `ready` first, then answers to its requests and the events of its own
 * containers. When it ends (half-close: Runtime.close) or drops (its process died, even by
 * SIGKILL), `onGone` removes what it owned; on a half-close the sandbox closes its side after that,
 * so the client knows the removal is done.
 */
import { createServer, type Server } from 'node:net';
import type { Peer } from './peers.js';
import type { Request, SandboxEvent } from './protocol.js';
import { readMessages, writeMessage } from './wire.js';

export function serveShared(o: {
  path: string;
  hello: () => Extract<SandboxEvent, { event: 'ready' }>;
  accepting: () => boolean;
  onConnect: (peer: Peer) => void;
  onRequest: (peer: Peer, req: Request) => void;
  onGone: (peer: Peer) => Promise<void>;
}): Promise<Server> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    if (!o.accepting()) {
      socket.destroy(); // shutting down: the client starts another sandbox
      return;
    }
    let gone: Promise<void> | undefined;
    const peer: Peer = {
      send: (m) => void writeMessage(socket, m),
      end: () => socket.end(),
    };
    const leave = () => (gone ??= o.onGone(peer).catch(() => {}));
    socket.on('error', () => socket.destroy());
    socket.once('end', () => void leave().then(() => socket.end()));
    socket.once('close', () => void leave());
    o.onConnect(peer);
    readMessages(socket, (m) => o.onRequest(peer, m as Request));
    peer.send(o.hello());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.path, () => resolve(server));
  });
}
