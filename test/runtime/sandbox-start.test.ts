/**
 * A sandbox that cannot start is a MayflyError naming the step, the command, its stderr and what to
 * change — never a crash (a CI job's container used to end `mayfly run` with `write EPIPE` from the
 * id-map hand-over). The refusals of a real job container are in test/job-container/; here the
 * failures this machine can produce: a MAYFLY_HOME that cannot be a directory, and (fault
 * injection, since the kernel here allows user namespaces) an `unshare` that is refused at once.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/engine/runtime.js';
import { BUSYBOX, caught } from '../support/runtime.js';

const BIN = resolve(import.meta.dirname, '../../bin/mayfly.js');
const work = mkdtempSync(join(tmpdir(), 'mayfly-sandbox-start-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PATH whose `unshare` fails the way a seccomp profile without user namespaces makes it fail. */
function refusingUnshare(): string {
  const dir = join(work, 'bin');
  rmSync(dir, { recursive: true, force: true });
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'unshare'), '#!/bin/sh\necho "unshare: unshare failed: Operation not permitted" >&2\nexit 1\n');
  chmodSync(join(dir, 'unshare'), 0o755);
  return `${dir}:${process.env.PATH}`;
}

describe('a sandbox that cannot start', () => {
  it('MAYFLY_HOME that cannot be made: the sandbox says so, with the step and the command', async () => {
    const file = join(work, 'not-a-dir');
    writeFileSync(file, '');
    const e = await caught(Runtime.start({ home: join(file, 'home'), onWarning: () => {} }));
    expect(e.code).toBe('SANDBOX_FAILED');
    expect(e.message).toContain('could not start the mayfly sandbox (step "start the sandbox")');
    expect(e.message).toContain(`MAYFLY_HOME (${join(file, 'home')}) cannot be used`);
    expect(e.details.command).toMatch(/^unshare --user --mount/);
  });

  it('unshare refused at once: the step, the command, its stderr and a hint; the owner lives on', async () => {
    const path = process.env.PATH;
    process.env.PATH = refusingUnshare();
    try {
      const e = await caught(Runtime.start({ onWarning: () => {} }));
      expect(e.code).toBe('USERNS_UNAVAILABLE');
      expect(e.message).toMatch(/step "(create the user namespace|write the id maps)" failed/);
      expect(e.message).toContain('command: unshare --user --mount');
      expect(e.message).toContain('stderr: unshare: unshare failed: Operation not permitted');
      expect(e.hint).toBeTruthy();
    } finally {
      process.env.PATH = path;
    }
    // nothing was left half-made: the next sandbox starts
    const rt = await Runtime.start({ onWarning: () => {} });
    const c = await rt.run({ layers: [BUSYBOX], command: ['true'] });
    expect((await c.wait()).exitCode).toBe(0);
    await c.remove();
    await rt.close();
  });

  it('the CLI prints the error, no stack trace; doctor reports it as a finding and exits 1', () => {
    // a home of its own: a keeper another test file started for the run's home would serve this run
    const env = { ...process.env, PATH: refusingUnshare(), MAYFLY_HOME: join(work, 'cli-home') };
    const run = spawnSync(process.execPath, [BIN, 'run', '--rm', '--rootfs', BUSYBOX, '--', 'true'], { encoding: 'utf8', env, timeout: 30_000 });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('could not start the mayfly sandbox');
    expect(run.stderr).not.toMatch(/\n\s+at [^\n]+:\d+:\d+/);
    expect(run.stderr).not.toContain('EPIPE');
    const doctor = spawnSync(process.execPath, [BIN, 'doctor', '--json'], { encoding: 'utf8', env, timeout: 30_000 });
    expect(doctor.status).toBe(1);
    const sandbox = (JSON.parse(doctor.stdout) as { name: string; level: string; detail: string; fix?: string }[]).find((f) => f.name === 'sandbox');
    expect(sandbox).toMatchObject({ level: 'fail', detail: expect.stringContaining('Operation not permitted') });
    expect(sandbox?.fix).toBeTruthy();
  });
});
