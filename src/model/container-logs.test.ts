import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followLogs, formatLogs, LogWriter, readLogs, type LogEntry } from './container-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'mayfly-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('logs', () => {
  it('splits chunks into lines per stream, keeps partial lines until flushed', async () => {
    const path = join(dir, 'a.jsonl');
    const w = new LogWriter(path);
    w.write('stdout', 'hel');
    w.write('stderr', 'oops\n');
    w.write('stdout', 'lo\nwor');
    // what arrives in one turn of the event loop is written at its end
    await new Promise((r) => setImmediate(r));
    expect((await readLogs(path)).map((e) => e.line)).toEqual(['oops', 'hello']);
    w.close();
    const all = await readLogs(path);
    expect(all.map((e) => [e.stream, e.line])).toEqual([
      ['stderr', 'oops'],
      ['stdout', 'hello'],
      ['stdout', 'wor'],
    ]);
    expect(w.tail.map((e) => e.line)).toEqual(['oops', 'hello', 'wor']);
    expect(formatLogs(all.slice(0, 1), true)).toMatch(/^\d{4}-\d\d-\d\dT.*Z oops\n$/);
  });

  it('filters by stream, tail and time; a missing file is no logs', async () => {
    const path = join(dir, 'b.jsonl');
    const w = new LogWriter(path);
    for (let i = 0; i < 10; i++) w.write(i % 2 ? 'stderr' : 'stdout', `line ${i}\n`);
    w.close();
    expect((await readLogs(path, { tail: 3 })).map((e) => e.line)).toEqual(['line 7', 'line 8', 'line 9']);
    expect((await readLogs(path, { stream: 'stderr' })).length).toBe(5);
    expect(await readLogs(path, { since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await readLogs(join(dir, 'none.jsonl'))).toEqual([]);
  });

  it('drain() delivers every line written before it, at once, with no poll to wait for', async () => {
    const path = join(dir, 'drain.jsonl');
    const w = new LogWriter(path);
    w.write('stdout', 'first\n');
    const seen: LogEntry[] = [];
    const ac = new AbortController();
    const follower = followLogs(path, (e) => seen.push(e), ac.signal);
    // written after the follower's first look, as a container's last words before its exit
    for (let i = 0; i < 500; i++) w.write(i % 2 ? 'stderr' : 'stdout', `line ${i}\n`);
    w.write('stdout', 'unterminated');
    w.close();
    await follower.drain();
    expect(seen.map((e) => e.line)).toEqual(['first', ...Array.from({ length: 500 }, (_, i) => `line ${i}`), 'unterminated']);
    w.write('stdout', 'after\n');
    w.close();
    await new Promise((r) => setTimeout(r, 120));
    expect(seen.at(-1)!.line).toBe('unterminated'); // drained: it follows no more
    ac.abort();
  });
});
