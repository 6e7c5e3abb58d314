// The examples in examples/presets run here, as users write them (importing `mayfly`, the built
// package), with this run's docker.io mirror serving the look-alike images.
import { describe, it } from 'vitest';
import { isMayflyError, presets, sharedRuntime } from 'mayfly';
import { usePresetImages } from '../support/preset-images.js';

usePresetImages();

describe('examples/presets/postgres.test.ts', async () => {
  await import('../../examples/presets/postgres.test.js');
});
describe('examples/presets/postgres-fork-per-test.test.ts', async () => {
  await import('../../examples/presets/postgres-fork-per-test.test.js');
});
describe('examples/presets/redis.test.ts', async () => {
  await import('../../examples/presets/redis.test.js');
});
describe('examples/presets/static-site.test.ts', async () => {
  await import('../../examples/presets/static-site.test.js');
});

// the mongo example needs a real MongoDB image (Docker Hub or a mirror that has it)
const mongoImage = `mongo:${presets.MONGO_DEFAULT_TAG}`;
const mongoUnavailable = await (async () => {
  const rt = await sharedRuntime();
  try {
    rt.inspect(mongoImage);
    return undefined;
  } catch {
    try {
      await rt.pull(mongoImage);
      return undefined;
    } catch (e) {
      return `no ${mongoImage} image is reachable (${isMayflyError(e) ? e.message.split('\n')[0] : String(e)})`;
    }
  }
})();
if (mongoUnavailable) {
  it('examples/presets/mongo.test.ts', (ctx) => ctx.skip(mongoUnavailable));
} else {
  describe('examples/presets/mongo.test.ts', async () => {
    await import('../../examples/presets/mongo.test.js');
  });
}
