// The demo: a static site and a postgres, each in a rootless container on a free host port, then gone.
//   node examples/demo.mjs           start both, show they answer, remove them
//   node examples/demo.mjs --wait    …and keep them until Ctrl-C (scripts/demo does this in a terminal)
import { join } from 'node:path';
import { isMayflyError, presets, sharedRuntime } from '../dist/index.js';
import { ensureOfflineImages } from './support/offline-images.mjs';

const wait = process.argv.includes('--wait');
const say = (line) => console.log(line);
const t0 = performance.now();
const ms = () => `${Math.round(performance.now() - t0)} ms`;

const rt = await sharedRuntime();
const postgresTag = await pickPostgresTag(rt);

// (Node 22+ and TypeScript: `await using site = …` removes them at the end of the scope)
const site = await presets.staticSite(join(import.meta.dirname, 'demo-site'));
try {
  say(`static site   ${site.siteUrl('/')}   (ready after ${ms()})`);
  const db = await presets.postgres({ tag: postgresTag, password: 'demo' });
  try {
    say(`postgres      ${db.connectionString()}   (ready after ${ms()})`);
    const page = await (await fetch(site.siteUrl('/'))).text();
    say(`  GET /             → ${/<h1>(.*)<\/h1>/.exec(page)?.[1]}`);
    const { stdout } = await db.exec(['psql', '-U', 'test', '-d', 'test', '-tAc', 'select version()']);
    say(`  select version()  → ${stdout.trim().split(' on ')[0]}`);
    if (wait) {
      say('\nboth keep running until Ctrl-C');
      await new Promise((resolve) => process.once('SIGINT', resolve));
    }
  } finally {
    await db.remove();
  }
} finally {
  await site.remove();
}
say('removed: no process, mount or directory of theirs is left');

/** The newest postgres tag that can be pulled; offline, images built here from Debian's packages. */
async function pickPostgresTag(runtime) {
  const pullable = async (ref) =>
    runtime.pull(ref).then(
      () => true,
      (e) => {
        if (isMayflyError(e, 'IMAGE_NOT_FOUND') || isMayflyError(e, 'REGISTRY_UNREACHABLE')) return false;
        throw e;
      },
    );
  if (await pullable('nginx:1')) for (const tag of ['17', '16', '15']) if (await pullable(`postgres:${tag}`)) return tag;
  say('Docker Hub cannot be reached from here: using nginx and postgres built from Debian packages by mayfly itself');
  return ensureOfflineImages(runtime, say);
}
