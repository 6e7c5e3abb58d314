/**
 * Drives a command line through a real pseudo-terminal, as a user's shell would: util-linux
 * `script` makes the pty (the command's controlling terminal, its size set by `stty` first) and
 * relays what we "type" (its stdin) and what the terminal shows (its stdout).
 */
import { spawn } from 'node:child_process';

export interface PtySession {
  /** what the terminal has shown so far */
  screen(): string;
  /** resolves once the screen (after `from`, by default everything so far) matches */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** keystrokes, sent as they are (\r for Enter, \x03 for Ctrl-C, \x04 for Ctrl-D) */
  type(keys: string): void;
  /** the command's exit code */
  exited: Promise<number | null>;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** `argv` (run by a shell inside the pty) with the terminal `rows`×`cols`; `shell` is run before it (e.g. a background resize). */
export function ptySession(argv: string[], opts: { rows?: number; cols?: number; before?: string; env?: NodeJS.ProcessEnv } = {}): PtySession {
  const line = `stty rows ${opts.rows ?? 24} cols ${opts.cols ?? 80}; ${opts.before ?? ''} exec ${argv.map(quote).join(' ')}`;
  const p = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  p.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const exited = new Promise<number | null>((r) => p.once('close', (code) => r(code)));
  return {
    screen: () => out,
    async waitFor(pattern, timeoutMs = 20_000) {
      const t0 = Date.now();
      const matches = () => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out));
      while (!matches()) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${JSON.stringify(out)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    type: (keys) => void p.stdin.write(keys),
    exited: exited.then((code) => {
      p.stdin.destroy();
      return code;
    }),
  };
}
