import { describe, expect, it } from 'vitest';
import { StartedContainer, type ContainerHandle } from '../harness/started-container.js';
import { redisContainerOptions, StartedRedis } from './redis.js';

const handle = (host: string) => ({ host, port: (p: number) => (p === 6379 ? 40002 : 0) }) as unknown as ContainerHandle;

describe('presets.redis, offline', () => {
  it('runs redis-server without persistence, /data on tmpfs, ready when redis-cli ping says PONG', () => {
    const o = redisContainerOptions();
    expect(o.image).toBe('redis:7');
    expect(o.command).toEqual(['redis-server', '--save', '', '--appendonly', 'no']);
    expect(o.tmpfs).toEqual({ '/data': 'mode=0755' });
    expect(o.wait?.describe()).toBe(`command \`sh -c '[ "$(redis-cli ping)" = PONG ]'\` exiting 0`);
  });

  it('a password goes to the server, to redis-cli inside (through the environment, not an argv) and to the connection string', () => {
    const o = redisContainerOptions({ password: 'pw', args: ['--maxmemory', '1mb'] });
    expect(o.command).toEqual(['redis-server', '--save', '', '--appendonly', 'no', '--requirepass', 'pw', '--maxmemory', '1mb']);
    expect(o.env).toEqual({ REDISCLI_AUTH: 'pw' });
    expect(o.wait?.describe()).not.toContain('pw');
    expect(new StartedRedis(new StartedContainer(handle('127.0.0.1')), 'p@ss').connectionString()).toBe('redis://:p%40ss@127.0.0.1:40002');
    expect(new StartedRedis(new StartedContainer(handle('::1')), undefined).connectionString()).toBe('redis://[::1]:40002');
  });
});
