import { describe, expect, it } from 'vitest';
import { configChanges } from './commit-changes.js';

const spec = { env: { PATH: '/bin', A: '1' }, labels: { team: 'x', 'mayfly.image': 'busybox' } };

describe('commit changes', () => {
  it('applies configuration instructions on top of the container\'s own settings', () => {
    expect(configChanges(['ENV B=2 A=3', 'LABEL made-by=commit', 'CMD ["serve", "--port", "80"]', 'ENTRYPOINT /entry.sh', 'USER app', 'WORKDIR /srv', 'EXPOSE 80 53/udp', 'STOPSIGNAL SIGINT'], spec)).toEqual({
      Env: ['PATH=/bin', 'A=3', 'B=2'],
      Labels: { team: 'x', 'made-by': 'commit' },
      Cmd: ['serve', '--port', '80'],
      Entrypoint: ['/bin/sh', '-c', '/entry.sh'],
      User: 'app',
      WorkingDir: '/srv',
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      StopSignal: 'SIGINT',
    });
    expect(configChanges([], spec)).toEqual({});
  });

  it('refuses what would build, naming the change', () => {
    expect(() => configChanges(['ENV A=1', 'COPY a b'], spec)).toThrow('commit: changes[1]: COPY cannot be applied by a commit');
    expect(() => configChanges(['FROBNICATE x'], spec)).toThrow(/commit: changes\[0\]: unknown instruction/);
  });
});
