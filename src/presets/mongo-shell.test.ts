import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mongoShell, PRIMARY_WAIT_MS, readinessScript } from './mongo-shell.js';

type Reply = Record<string, unknown> & { ok: number };

/**
 * Runs a script as the shell would, against a fake server: `answer` gives each command's reply.
 * `throws`: mongosh's way (a reply with ok 0 becomes an exception); otherwise the legacy shell's
 * (the reply is returned). Returns the exit code (0 when the script ends by itself) and what it printed.
 */
function runScript(script: string, answer: (cmd: Record<string, unknown>) => Reply, throws: boolean): { code: number; printed: string[]; commands: string[] } {
  let clock = 1_000_000;
  const printed: string[] = [];
  const commands: string[] = [];
  class Quit {
    constructor(readonly code: number) {}
  }
  const db = {
    adminCommand(cmd: Record<string, unknown>): Reply {
      commands.push(Object.keys(cmd)[0]!);
      const r = answer(cmd);
      if (throws && r.ok !== 1) throw Object.assign(new Error(String(r.errmsg ?? 'command failed')), { code: r.code });
      return r;
    },
  };
  try {
    runInNewContext(script, {
      db,
      print: (s: string) => printed.push(s),
      quit: (code = 0) => {
        throw new Quit(code);
      },
      sleep: (ms: number) => {
        clock += ms;
      },
      Date: { now: () => clock },
    });
    return { code: 0, printed, commands };
  } catch (e) {
    if (e instanceof Quit) return { code: e.code, printed, commands };
    throw e;
  }
}

const RS = { name: 'rs0', member: '127.0.0.1:27017' };

describe.each([
  ['mongosh (errors thrown)', true],
  ['legacy mongo shell (errors returned)', false],
])('the readiness script, in %s', (_shell, throws) => {
  it('standalone: exits 0 once ping answers, 1 while it does not', () => {
    expect(runScript(readinessScript(undefined), () => ({ ok: 1 }), throws).code).toBe(0);
    const down = runScript(readinessScript(undefined), () => ({ ok: 0, errmsg: 'connect ECONNREFUSED' }), throws);
    expect(down.code).toBe(1);
    expect(down.printed).toEqual(['ping: connect ECONNREFUSED']);
  });

  it('replica set: initiates an uninitialised set with one member, then waits until it is a writable primary', () => {
    let initiated: unknown;
    let hellos = 0;
    const r = runScript(
      readinessScript(RS),
      (cmd) => {
        if ('replSetGetStatus' in cmd) return initiated ? { ok: 1 } : { ok: 0, code: 94, errmsg: 'no replset config has been received' };
        if ('replSetInitiate' in cmd) {
          initiated = cmd.replSetInitiate;
          return { ok: 1 };
        }
        if ('hello' in cmd) return { ok: 1, isWritablePrimary: ++hellos >= 3 };
        return { ok: 1 };
      },
      throws,
    );
    expect(r.code).toBe(0);
    expect(initiated).toEqual({ _id: 'rs0', members: [{ _id: 0, host: '127.0.0.1:27017' }] });
    expect(hellos).toBe(3);
    // run again on an initiated set: no second initiate
    const again = runScript(readinessScript(RS), (cmd) => ('hello' in cmd ? { ok: 1, isWritablePrimary: true } : { ok: 1 }), throws);
    expect(again.commands).toEqual(['ping', 'replSetGetStatus', 'hello']);
  });

  it('replica set: another attempt having initiated it (AlreadyInitialized) is fine; servers before `hello` answer isMaster', () => {
    const r = runScript(
      readinessScript(RS),
      (cmd) => {
        if ('replSetGetStatus' in cmd) return { ok: 0, code: 94 };
        if ('replSetInitiate' in cmd) return { ok: 0, code: 23, errmsg: 'already initialized' };
        if ('hello' in cmd) return { ok: 0, code: 59, errmsg: 'no such command: hello' };
        if ('isMaster' in cmd) return { ok: 1, ismaster: true };
        return { ok: 1 };
      },
      throws,
    );
    expect(r.code).toBe(0);
    expect(r.commands).toContain('isMaster');
  });

  it('replica set: a failed initiate, or no primary within the wait, exits 1 with the reason (the strategy runs it again)', () => {
    const failed = runScript(readinessScript(RS), (cmd) => ('replSetInitiate' in cmd ? { ok: 0, code: 93, errmsg: 'bad config' } : 'replSetGetStatus' in cmd ? { ok: 0, code: 94 } : { ok: 1 }), throws);
    expect(failed).toMatchObject({ code: 1, printed: ['replSetInitiate: bad config'] });
    const never = runScript(readinessScript(RS), (cmd) => ('hello' in cmd ? { ok: 1, isWritablePrimary: false } : { ok: 1 }), throws);
    expect(never).toMatchObject({ code: 1, printed: ['not yet a writable primary'] });
    expect(never.commands.filter((c) => c === 'hello').length).toBeGreaterThanOrEqual(PRIMARY_WAIT_MS / 100);
  });
});

describe('mongoShell', () => {
  it('prefers mongosh and falls back to the legacy mongo shell, arguments passed through untouched', () => {
    const argv = mongoShell(['--eval', 'print("a b")']);
    expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(argv[2]).toMatch(/command -v mongosh .* exec mongosh --quiet --norc "\$@"; else exec mongo --quiet --norc "\$@"/);
    expect(argv.slice(3)).toEqual(['mongo-shell', '--eval', 'print("a b")']);
  });

  it.each([
    [['mongosh', 'mongo'], 'mongosh'],
    [['mongo'], 'mongo'],
  ])('with %j on the PATH, sh runs %s', (shells, expected) => {
    const bin = mkdtempSync(join(tmpdir(), 'mayfly-shells-'));
    try {
      for (const s of shells) writeFileSync(join(bin, s), `#!/bin/sh\necho ${s} "$@"\n`, { mode: 0o755 });
      const [sh, ...args] = mongoShell(['--eval', 'print("a b")']);
      expect(execFileSync(`/bin/${sh}`, args, { env: { PATH: bin }, encoding: 'utf8' })).toBe(`${expected} --quiet --norc --eval print("a b")\n`);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
