import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatLogs, LogWriter, readLogs } from './container-logs.js';

const dir = mkdtempSync(join(tmpdir(), 'mayfly-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('logs', () => {
  it('splits chunks into lines per stream, keeps partial lines until flushed', async () => {
    const path = join(dir, 'a.jsonl');
    const w = new LogWriter(path);
    w.write('stdout', 'hel');
    w.write('stderr', 'oops\n');
    w.write('stdout', 'lo\nwor');
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
});
