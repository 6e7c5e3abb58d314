/**
 * `-i` and `-t` as a user's shell drives them: piped stdin, and a real pseudo-terminal (util-linux
 * `script`) in which keys are typed — Ctrl-C, Ctrl-D, Ctrl-P Ctrl-Q — and the window is resized.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ptySession } from '../support/pty-driver.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { BIN, mayfly, ok, started } from './cli.js';

const cli = (...args: string[]) => [process.execPath, BIN, ...args];
// busybox's line editor asks for the cursor position after its prompt (nobody answers here)
const PROMPT = /# (\x1b\[6n)?$/;
const tmp = mkdtempSync(join(tmpdir(), 'mayfly-tty-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** the screen after the last prompt-ending command, without the terminal's \r */
const lines = (screen: string) => screen.replaceAll('\r', '');

describe('stdin (-i)', () => {
  it('run -i streams piped stdin in and EOF closes it; without -i stdin is /dev/null', async () => {
    const r = await mayfly(['run', '--rm', '-i', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'cat; echo eof-seen'], { input: 'line one\nline two\n' });
    expect(r.stdout).toBe('line one\nline two\neof-seen\n');
    expect(r.status).toBe(0);
    const without = await mayfly(['run', '--rm', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'cat; echo end'], { input: 'not read\n' });
    expect(without.stdout).toBe('end\n');
  });

  it('exec -i runs a script given on stdin, with its exit code; a large input arrives whole', async () => {
    const name = `tty-exec-${process.pid}`;
    await ok(['run', '-d', '--name', name, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      const r = await mayfly(['exec', '-i', name, 'sh'], { input: 'echo $((6 * 7)) $(hostname | wc -c)\nexit 5\n' });
      expect(r.stdout).toBe('42 13\n');
      expect(r.status).toBe(5);
      const big = 'x'.repeat(1 << 20);
      expect(await ok(['exec', '-i', name, 'wc', '-c'], { input: big })).toBe(`${1 << 20}\n`);
      // exec's output streams as it comes (not at the end)
      const follow = started(['exec', name, 'sh', '-c', 'echo first; sleep 30; echo never']);
      await until(() => follow.out() === 'first\n', 10_000, "exec's first line");
      follow.proc.kill('SIGKILL');
      await follow.exited;
      const missing = await mayfly(['exec', '-i', name, 'no-such-command'], { input: '' });
      expect(missing.status).toBe(127);
      expect(missing.stderr).toContain('"no-such-command": executable file not found');
      // -i -t with a pipe for stdin is refused, as Docker does
      const notTty = await mayfly(['exec', '-it', name, 'sh'], { input: '' });
      expect(notTty.status).toBe(125);
      expect(notTty.stderr).toContain('the input device is not a TTY');
    } finally {
      await mayfly(['rm', '-f', name]);
    }
  });

  it('start -ai streams stdin into a container made with -i', async () => {
    const name = `tty-start-${process.pid}`;
    await ok(['create', '-i', '--name', name, '--rootfs', BUSYBOX, '--', 'sh', '-c', 'read l; echo got $l; exit 2']);
    try {
      const r = await mayfly(['start', '-ai', name], { input: 'hello\n' });
      expect(r.stdout).toBe('got hello\n');
      expect(r.status).toBe(2);
    } finally {
      await mayfly(['rm', '-f', name]);
    }
  });
});

describe('terminals (-t) through a real pty', () => {
  it("run -it: a pty of the container's own devpts as controlling terminal, owned by its user, its size at start and after a resize, the exit code", async () => {
    const flag = join(tmp, 'resize');
    const s = ptySession(cli('run', '--rm', '-it', '-u', 'app', '--rootfs', BUSYBOX, '--', 'sh', '-c', 'tty; readlink /proc/self/fd/0; stat -c %u:%g $(tty); stty size; ls /dev/pts; ' +
      // the resize travels beside stdin, not in it (as in Docker): wait for it to arrive, 10 s at most.
      // stty sets rows and cols one after the other, so 22 111 may come first: wait for the final size
      'i=0; while [ "$(stty size)" != "22 77" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done; echo size $(stty size); exit 7'), {
      rows: 33,
      cols: 111,
      // resizes this terminal when the test says so (SIGWINCH to the CLI, as a window manager would)
      before: `(while [ ! -e ${flag} ]; do sleep 0.05; done; stty rows 22 cols 77 < /dev/tty; rm ${flag}) &`,
    });
    await s.waitFor('ptmx');
    // its name inside, owned by the container's user (group tty), the only pty of its own devpts
    expect(lines(s.screen())).toMatch(/^\/dev\/pts\/0\n\/dev\/pts\/0\n999:5\n33 111\n0\s+ptmx\n/m);
    writeFileSync(flag, '');
    await until(() => !existsSync(flag), 10_000, 'the resize');
    await s.waitFor('size 22 77');
    expect(await s.exited).toBe(7);
  });

  it('run -it sh: Ctrl-C interrupts a sleep and not the shell; Ctrl-D ends the shell with its exit code', async () => {
    const s = ptySession(cli('run', '--rm', '-it', '--rootfs', BUSYBOX, '--', 'sh'));
    await s.waitFor(PROMPT);
    s.type('echo sleeping; sleep 100\r');
    await s.waitFor(/\nsleeping\r\n/);
    await new Promise((r) => setTimeout(r, 300));
    s.type('\x03');
    await s.waitFor(/\^C\r?\n(\/ )?# (\x1b\[6n)?$/);
    s.type('echo alive $?\r');
    await s.waitFor('alive 130');
    s.type('(exit 9)\r');
    await s.waitFor(/\(exit 9\)\r\n(\/ )?# (\x1b\[6n)?$/);
    s.type('\x04');
    expect(await s.exited).toBe(9);
  });

  it('exec -it: a terminal inside a running container; Ctrl-D ends it', async () => {
    const name = `tty-exec-it-${process.pid}`;
    await ok(['run', '-d', '--name', name, '--rootfs', BUSYBOX, '--', 'sleep', '300']);
    try {
      const s = ptySession(cli('exec', '-it', name, 'sh'), { rows: 40, cols: 100 });
      await s.waitFor(PROMPT);
      s.type('tty; stty size; (exit 4)\r');
      await s.waitFor(/40 100\r\n(\/ )?# (\x1b\[6n)?$/);
      expect(lines(s.screen())).toMatch(/\n\/dev\/pts\/\d+\n40 100\n/);
      s.type('\x04');
      expect(await s.exited).toBe(4);
    } finally {
      await mayfly(['rm', '-f', name]);
    }
  });

  it('Ctrl-P Ctrl-Q detaches and leaves the container running; attach and start -ai bring its terminal back', async () => {
    const name = `tty-detach-${process.pid}`;
    const run = ptySession(cli('run', '-it', '--name', name, '--rootfs', BUSYBOX, '--', 'sh'));
    try {
      await run.waitFor(PROMPT);
      run.type('\x10\x11');
      expect(await run.exited).toBe(0);
      expect(run.screen()).toContain('read escape sequence');
      expect(await ok(['ps', '--format', '{{.Names}} {{.State}}'])).toContain(`${name} running`);

      const back = ptySession(cli('attach', name));
      back.type('echo back-$((1 + 1))\r');
      await back.waitFor('back-2');
      back.type('exit 3\r');
      expect(await back.exited).toBe(3);
      expect(await ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}'])).toMatch(new RegExp(`${name} Exited \\(3\\)`));

      const again = ptySession(cli('start', '-ai', name));
      await again.waitFor(PROMPT);
      again.type('echo again\r');
      await again.waitFor(/\nagain\r\n/);
      again.type('\x04');
      expect(await again.exited).toBe(0);
    } finally {
      await mayfly(['rm', '-f', name]);
    }
  });
});
