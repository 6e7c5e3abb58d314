import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMayflyError } from '../core/errors.js';
import { StartedContainer, type ContainerHandle } from '../harness/started-container.js';
import { mongoContainerOptions, mongodCommand, StartedMongo } from './mongo.js';

describe('presets.mongo, offline', () => {
  it('runs upstream mongo on every address with a small cache, /data/db on tmpfs, ready when its shell gets answers', () => {
    const o = mongoContainerOptions();
    expect(o.image).toBe('mongo:8');
    expect(o.command).toEqual(['mongod', '--bind_ip_all', '--wiredTigerCacheSizeGB', '0.25']);
    expect(o.tmpfs).toEqual({ '/data/db': 'mode=0755' });
    expect(o.exposedPorts).toEqual([27017]);
    expect(o.wait?.describe()).toMatch(/mongosh --quiet --norc .*ping: 1/s);
    expect(o.wait?.describe()).not.toMatch(/replSetInitiate/);
  });

  it('keeps /data/db as an initialised-data snapshot; a seed folder is loaded by the start that initialises, its content part of the key', () => {
    expect(mongoContainerOptions().initSnapshot).toEqual({ paths: ['/data/db'], enabled: true });
    expect(mongoContainerOptions({ snapshot: false }).initSnapshot?.enabled).toBe(false);
    const seed = mkdtempSync(join(tmpdir(), 'mayfly-mongo-seed-'));
    try {
      writeFileSync(join(seed, 'users.json'), '[{"name":"ada"}]');
      const first = mongoContainerOptions({ seed }).initSnapshot!;
      expect(first.key).toMatch(/^seed:[0-9a-f]{64}$/);
      expect(typeof first.initialise).toBe('function');
      writeFileSync(join(seed, 'users.json'), '[{"name":"grace"}]');
      expect(mongoContainerOptions({ seed }).initSnapshot!.key).not.toBe(first.key);
    } finally {
      rmSync(seed, { recursive: true, force: true });
    }
  });

  it('a replica set: --replSet, and readiness initiates it and waits for the primary', () => {
    expect(mongodCommand({ replicaSet: true, args: [] })).toEqual(['mongod', '--bind_ip_all', '--replSet', 'rs0', '--wiredTigerCacheSizeGB', '0.25']);
    expect(mongodCommand({ replicaSet: 'set-a', args: ['--wiredTigerCacheSizeGB', '1', '--quiet'] })).toEqual(['mongod', '--bind_ip_all', '--replSet', 'set-a', '--wiredTigerCacheSizeGB', '1', '--quiet']);
    const o = mongoContainerOptions({ replicaSet: true, tag: '6.0' });
    expect(o.image).toBe('mongo:6.0');
    expect(o.wait?.describe()).toMatch(/replSetInitiate: \{"_id":"rs0","members":\[\{"_id":0,"host":"127.0.0.1:27017"\}\]\}/);
  });

  it('refuses wrong options at once, naming each field', () => {
    try {
      mongoContainerOptions({ replicaSet: 'has space', database: 'a.b', seed: '/nonexistent', image: 'mongo:7', tag: '8' });
      expect.unreachable();
    } catch (e) {
      expect(isMayflyError(e, 'INVALID_OPTION')).toBe(true);
      const m = (e as Error).message;
      expect(m).toMatch(/invalid presets\.mongo options/);
      expect(m).toMatch(/replicaSet/);
      expect(m).toMatch(/database: expected a MongoDB database name/);
      expect(m).toMatch(/seed: no such directory: \/nonexistent/);
    }
    expect(() => mongoContainerOptions({ image: 'mongo:7', tag: '8' })).toThrow(/already names a tag/);
  });

  it('connectionString() is a direct connection to the published port, with the database', () => {
    const handle = { host: '127.0.0.1', port: (p: number) => (p === 27017 ? 40003 : 0) } as unknown as ContainerHandle;
    const m = new StartedMongo(new StartedContainer(handle), 'shop', 'rs0');
    expect(m.connectionString()).toBe('mongodb://127.0.0.1:40003/shop?directConnection=true');
    expect(m.replicaSet).toBe('rs0');
  });
});
