/**
 * The verbs that attach this terminal to a process in a container through the keeper's attach
 * stream: `exec -i/-t`, `attach`, `start -a/-i`. Output streams as it comes, stdin goes in with
 * -i (or when the container keeps it open), and with a terminal this one is raw while attached.
 */
import { MayflyError } from '../core/errors.js';
import { attach } from '../keeper/attach-client.js';
import type { AttachRequest } from '../keeper/protocol.js';
import type { ParsedCommand } from './command-line/definition.js';
import { bool } from './command-line/values.js';
import { findContainer, isRunning } from './containers.js';
import { checkInputDevice, connectUserTerminal, terminalSize } from './user-terminal.js';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/**
 * Runs an attach stream to its end: the process's exit code, or 0 after a detach (Ctrl-P Ctrl-Q).
 * `signals`: forwarded to the container (attach and start's --sig-proxy); else they end this client.
 */
export async function attachTerminal(req: AttachRequest, opts: { interactive: boolean; tty: boolean; signals: boolean }): Promise<number> {
  const session = await attach(req, { onOutput: (stream, data) => (stream === 'stdout' ? process.stdout : process.stderr).write(data) });
  const forward = (sig: NodeJS.Signals) => session.signal(sig);
  if (opts.signals) for (const s of FORWARDED) process.on(s, forward);
  const disconnect = connectUserTerminal(session, opts);
  try {
    const end = await session.done;
    if (end.detached) process.stderr.write('\nread escape sequence\n');
    return end.exitCode;
  } finally {
    disconnect();
    if (opts.signals) for (const s of FORWARDED) process.off(s, forward);
  }
}

/** `mayfly exec -i/-t`: the command's output streamed, stdin (or a terminal of the container's devpts) attached. */
export async function execAttachedCommand(ref: string, argv: string[], opts: { env: Record<string, string>; user?: string; workingDir?: string; interactive: boolean; tty: boolean }): Promise<number> {
  checkInputDevice(opts.interactive, opts.tty);
  const c = findContainer(ref);
  if (!isRunning(c)) throw new MayflyError('CONTAINER_STATE', `container ${c.name} is not running`);
  const size = opts.tty ? terminalSize() : undefined;
  return attachTerminal(
    {
      op: 'exec-attach',
      container: c.id,
      argv,
      env: opts.env,
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.workingDir ? { workingDir: opts.workingDir } : {}),
      stdin: opts.interactive,
      tty: opts.tty,
      ...(size ? { size } : {}),
    },
    { interactive: opts.interactive, tty: opts.tty, signals: false },
  );
}

/** `mayfly attach NAME`: its output from now on, its stdin if it keeps one open (-i), its terminal (-t); Ctrl-P Ctrl-Q detaches. */
export async function attachCommand({ flags, args }: ParsedCommand): Promise<number> {
  const c = findContainer(args[0]!);
  if (!isRunning(c)) throw new MayflyError('CONTAINER_STATE', `you cannot attach to a stopped container, start it first`, { hint: `mayfly start -ai ${c.name}` });
  const tty = c.spec?.tty === true;
  const interactive = c.spec?.openStdin === true && !bool(flags, 'no-stdin');
  checkInputDevice(interactive, tty);
  const size = tty ? terminalSize() : undefined;
  return attachTerminal({ op: 'attach', container: c.id, ...(size ? { size } : {}) }, { interactive, tty, signals: flags['sig-proxy'] !== false });
}

/** `mayfly start -a [-i] NAME`: started and attached, as `docker start -ai`. */
export async function startAttachedCommand(ref: string, interactiveFlag: boolean): Promise<number> {
  const c = findContainer(ref);
  const tty = c.spec?.tty === true;
  const interactive = interactiveFlag && c.spec?.openStdin === true;
  checkInputDevice(interactive, tty);
  const size = tty ? terminalSize() : undefined;
  return attachTerminal({ op: 'attach', container: c.id, start: true, ...(size ? { size } : {}) }, { interactive, tty, signals: true });
}
