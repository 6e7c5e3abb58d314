/**
 * Outbound access for containers on user-defined networks: slirp4netns, a user-mode TCP/IP stack,
 * gives the container's namespace a tap device whose traffic it replays through ordinary sockets of
 * the sandbox (in the host's network namespace). 10.0.2.3 is its DNS. 10.0.2.2 would be the host's
 * loopback, but slirp4netns refuses it unless asked (`hostLoopback`: `--add-host NAME:host-gateway`),
 * as podman does: a developer's local database or admin port is not for every container to reach.
 * It needs /dev/net/tun to be usable by the caller; without it containers stay reachable from each
 * other and through published ports, and `mayfly doctor` says what to change.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { confinement, liftingSetting } from '../core/confinement.js';
import { MayflyError } from '../core/errors.js';
import { which } from '../core/which.js';

export const HOST_GATEWAY = '10.0.2.2';
export const SLIRP_DNS = '10.0.2.3';
/**
 * Where exposed host ports answer inside a container (host.mayfly.internal): a link-local address
 * on the container's own loopback device, apart from slirp's 10.0.2.0/24 (whose gateway must stay
 * routable through tap0).
 */
export const HOST_PORTS_ADDRESS = '169.254.1.2';
/** names a container reaches the host's loopback services by, when it may (host-gateway, exposed host ports) */
export const HOST_ALIASES = ['host.mayfly.internal', 'host.docker.internal', 'host.testcontainers.internal'];

export type OutboundSupport = { usable: true; helper: string } | { usable: false; reason: string; fix: string };

export function outboundSupport(): OutboundSupport {
  const helper = which('slirp4netns');
  if (!helper) return { usable: false, reason: 'slirp4netns is not installed', fix: 'apt install slirp4netns' };
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch (e) {
    // a job container without the device: only the engine can hand it in
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      return { usable: false, reason: `there is no /dev/net/tun${confinement().engine ? ' in this container' : ''} (slirp4netns needs it)`, fix: liftingSetting('no-tun') };
    }
    return { usable: false, reason: '/dev/net/tun is not usable by this user', fix: 'chmod 0666 /dev/net/tun (most distributions ship it that way)' };
  }
  return { usable: true, helper };
}

export interface Outbound {
  /** ends the helper; the tap device goes with it */
  close(): void;
}

const READY_TIMEOUT_MS = 5000;

/**
 * Starts slirp4netns on the namespace pinned at `netns`; resolves once tap0 has its address and
 * default route. `hostLoopback`: the host's loopback services are reachable at 10.0.2.2.
 */
export function startOutbound(helper: string, netns: string, opts: { hostLoopback: boolean }): Promise<Outbound> {
  // fd 3: slirp writes "1" once configured; fd 4: slirp exits when it reads EOF (we, or our death, close it)
  const args = ['--configure', '--mtu=65520', '--netns-type=path', '--ready-fd=3', '--exit-fd=4', ...(opts.hostLoopback ? [] : ['--disable-host-loopback']), netns, 'tap0'];
  const proc = spawn(helper, args, {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  const ready = proc.stdio[3] as Readable;
  const exitPipe = proc.stdio[4] as Writable;
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const close = () => {
    exitPipe.destroy();
    ready.destroy();
    proc.stderr!.destroy();
    if (proc.exitCode === null) proc.kill('SIGTERM');
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      close();
      reject(new MayflyError('NETWORK_FAILED', `slirp4netns could not give the container outbound access: ${why}`, { hint: 'run `mayfly doctor`' }));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms ${stderr.trim()}`), READY_TIMEOUT_MS);
    ready.once('data', () => {
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      proc.unref();
      resolve({ close });
    });
    proc.once('error', (e) => fail(e.message));
    proc.once('exit', (code) => fail(`exited with ${code}: ${stderr.trim()}`));
  });
}
