import { describe, expect, it } from 'vitest';
import { runDefaults } from './run-defaults.js';
import type { ImageConfigFile } from './store/image-config.js';

const image: ImageConfigFile = {
  rootfs: { type: 'layers', diff_ids: [] },
  config: {
    Entrypoint: ['docker-entrypoint.sh'],
    Cmd: ['postgres'],
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PGDATA=/var/lib/postgresql/data', 'EMPTY='],
    User: 'postgres',
    WorkingDir: '/srv',
    StopSignal: 'SIGINT',
    ExposedPorts: { '5432/tcp': {}, '53/udp': {} },
    Labels: { maintainer: 'x' },
  },
};

describe('runDefaults (Docker precedence)', () => {
  it('takes the image config when nothing is overridden', () => {
    expect(runDefaults(image)).toEqual({
      command: ['docker-entrypoint.sh', 'postgres'],
      entrypoint: ['docker-entrypoint.sh'],
      cmd: ['postgres'],
      env: { PATH: '/usr/local/bin:/usr/bin:/bin', PGDATA: '/var/lib/postgresql/data', EMPTY: '' },
      user: 'postgres',
      workingDir: '/srv',
      stopSignal: 'SIGINT',
      labels: { maintainer: 'x' },
      exposedPorts: [
        { port: 5432, protocol: 'tcp' },
        { port: 53, protocol: 'udp' },
      ],
    });
  });
  it('a command replaces Cmd and keeps the entrypoint', () => {
    expect(runDefaults(image, { command: ['postgres', '-c', 'fsync=off'] }).command).toEqual(['docker-entrypoint.sh', 'postgres', '-c', 'fsync=off']);
  });
  it('an entrypoint replaces Entrypoint and drops Cmd', () => {
    expect(runDefaults(image, { entrypoint: ['sh'] }).command).toEqual(['sh']);
    expect(runDefaults(image, { entrypoint: ['sh'], command: ['-c', 'true'] }).command).toEqual(['sh', '-c', 'true']);
    expect(runDefaults(image, { entrypoint: ['sh'] })).toMatchObject({ entrypoint: ['sh'], cmd: [] });
  });
  it('merges env, the caller winning; user and workdir fall back to root and /', () => {
    const d = runDefaults({ rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['A=1', 'B=2'] } }, { env: { B: '3' } });
    expect(d.env).toEqual({ A: '1', B: '3' });
    expect(d.user).toBe('0:0');
    expect(d.workingDir).toBe('/');
    expect(d.command).toEqual([]);
  });
});
