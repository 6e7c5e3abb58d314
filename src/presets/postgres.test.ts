import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { StartedContainer, type ContainerHandle } from '../harness/started-container.js';
import { postgresContainerOptions, StartedPostgres } from './postgres.js';

describe('presets.postgres, offline', () => {
  it('asks for upstream postgres with the POSTGRES_* settings, durability off, PGDATA on tmpfs, ready on a TCP query with the password', () => {
    const o = postgresContainerOptions();
    expect(o.image).toBe('postgres:17');
    expect(o.env).toEqual({ POSTGRES_USER: 'test', POSTGRES_PASSWORD: 'test', POSTGRES_DB: 'test', PGDATA: '/var/lib/postgresql/data' });
    // durability off; a small shared memory segment (its set-up was a third of a warm start)
    expect(o.command).toEqual(['postgres', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'huge_pages=off']);
    expect(o.tmpfs).toEqual({ '/var/lib/postgresql/data': 'mode=0700' });
    expect(o.exposedPorts).toEqual([5432]);
    expect(o.wait?.describe()).toBe('a query (select 1) answered over TCP at port 5432 as test on database test');
    expect(postgresContainerOptions({ password: 'secret' }).wait?.describe()).not.toContain('secret');
    // initialised once, then started from a snapshot of PGDATA: the server itself, as the postgres user
    expect(o.initSnapshot).toEqual({
      paths: ['/var/lib/postgresql/data'],
      enabled: true,
      run: { entrypoint: ['postgres'], command: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'huge_pages=off'], user: 'postgres' },
    });
    expect(postgresContainerOptions({ snapshot: false }).initSnapshot?.enabled).toBe(false);
  });

  it('settings override the fast defaults; booleans are on/off', () => {
    const o = postgresContainerOptions({ tag: '15', config: { fsync: true, max_connections: 20, 'auto_explain.log_min_duration': '10ms' } });
    expect(o.image).toBe('postgres:15');
    expect(o.command).toEqual(['postgres', '-c', 'fsync=on', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=16MB', '-c', 'huge_pages=off', '-c', 'max_connections=20', '-c', 'auto_explain.log_min_duration=10ms']);
    expect(postgresContainerOptions({ config: { shared_buffers: '256MB' } }).command).toContain('shared_buffers=256MB');
    expect(postgresContainerOptions({ config: { shared_buffers: '256MB' } }).command).not.toContain('shared_buffers=16MB');
  });

  it('reports every wrong field at once', () => {
    try {
      postgresContainerOptions({ user: '', database: 'x'.repeat(64), initScripts: '/nonexistent', startupTimeout: -1 });
      expect.unreachable();
    } catch (e) {
      expect(isMayflyError(e, 'INVALID_OPTION')).toBe(true);
      const m = (e as Error).message;
      for (const field of ['user', 'database: PostgreSQL names are at most 63 bytes', 'initScripts: no such directory: /nonexistent', 'startupTimeout']) expect(m).toContain(field);
    }
  });

  it('connectionString() encodes what a URL cannot carry as it is', () => {
    const handle = { host: '127.0.0.1', port: (p: number) => (p === 5432 ? 40001 : 0) } as unknown as ContainerHandle;
    const pg = new StartedPostgres(new StartedContainer(handle), 'us@r', 'p:ss/w?rd#', 'my db');
    expect(pg.connectionString()).toBe('postgres://us%40r:p%3Ass%2Fw%3Frd%23@127.0.0.1:40001/my%20db');
    expect(pg.mappedPort).toBe(40001);
  });
});
