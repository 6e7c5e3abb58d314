import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../src/runtime/runtime.js';
import { pushImage, tarOfDir } from '../support/images.js';
import { startRegistry, type StartedRegistry } from '../support/registry.js';
import { BUSYBOX } from '../support/runtime.js';

// How CI (and this project's own tests) reach "Docker Hub" offline: a mirror for docker.io.
let registry: StartedRegistry;
beforeAll(async () => {
  registry = await startRegistry('plain');
  await pushImage(registry.url, 'library/mirrored-busybox', '1.0', [await tarOfDir(BUSYBOX)], { Cmd: ['echo', 'served by the mirror'] });
});
afterAll(() => registry?.stop());

describe('registry mirrors', () => {
  it('a short Docker Hub name is pulled from the configured mirror', async () => {
    const before = process.env.MAYFLY_REGISTRY_MIRRORS;
    process.env.MAYFLY_REGISTRY_MIRRORS = `docker.io=${registry.host}`;
    const rt = await Runtime.start({ onWarning: () => {} }); // the sandbox reads the setting at its start
    if (before === undefined) delete process.env.MAYFLY_REGISTRY_MIRRORS;
    else process.env.MAYFLY_REGISTRY_MIRRORS = before;
    try {
      const rec = await rt.pull('mirrored-busybox:1.0');
      expect(rec.names).toEqual(['docker.io/library/mirrored-busybox:1.0']);
      expect(rec.source).toBe(`${registry.host}/library/mirrored-busybox`);
      const c = await rt.create({ image: 'mirrored-busybox:1.0', pull: 'never' });
      const out: string[] = [];
      await c.start({ onOutput: (_s, d) => out.push(Buffer.from(d).toString()) });
      await c.wait();
      await c.remove();
      expect(out.join('')).toBe('served by the mirror\n');
    } finally {
      await rt.close();
    }
  });
});
