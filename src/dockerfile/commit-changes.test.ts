import { describe, expect, it } from 'vitest';
import { ImageStore } from '../image/store/image-store.js';
import { applyChanges, parseChanges } from './commit-changes.js';

const store = new ImageStore('/nonexistent');

describe('commit --change', () => {
  const base = { Env: ['PATH=/bin', 'MODE=dev'], Entrypoint: ['/entry'], Cmd: ['serve'], ExposedPorts: { '80/tcp': {} }, Labels: { a: '1' } };
  it("applies instructions as a build applies them", () => {
    const out = applyChanges(base, parseChanges(['ENV MODE=prod EXTRA=1', 'EXPOSE 443 53/udp', 'LABEL b=2', 'CMD ["run", "--fast"]', 'USER app', 'WORKDIR /srv', 'VOLUME /data', 'STOPSIGNAL SIGINT']), store);
    expect(out).toEqual({
      Env: ['PATH=/bin', 'MODE=prod', 'EXTRA=1'],
      Entrypoint: ['/entry'],
      Cmd: ['run', '--fast'],
      ExposedPorts: { '80/tcp': {}, '443/tcp': {}, '53/udp': {} },
      Labels: { a: '1', b: '2' },
      User: 'app',
      WorkingDir: '/srv',
      Volumes: { '/data': {} },
      StopSignal: 'SIGINT',
    });
    // ENTRYPOINT drops the inherited CMD; the shell form runs under /bin/sh -c
    expect(applyChanges(base, parseChanges(['ENTRYPOINT nginx -g "daemon off;"']), store)).toMatchObject({ Entrypoint: ['/bin/sh', '-c', 'nginx -g "daemon off;"'], Cmd: null });
  });
  it('refuses what commit cannot change, naming the change', () => {
    expect(() => parseChanges(['RUN apt-get update'])).toThrow('invalid value "RUN apt-get update" for -c, --change: RUN cannot be changed by commit (accepted: CMD, ENTRYPOINT');
    expect(() => parseChanges(['FROM debian'])).toThrow('FROM cannot be changed by commit');
    expect(() => applyChanges(base, parseChanges(['EXPOSE eighty']), store)).toThrow('invalid value "EXPOSE eighty" for -c, --change: EXPOSE eighty is not a port');
  });
});
