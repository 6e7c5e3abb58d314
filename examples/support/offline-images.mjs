// Where Docker Hub is out of reach, the demo builds look-alike nginx and postgres images itself:
// a Debian base made by mmdebstrap, then presets/images/* with mayfly's own builder, kept in the
// store under the upstream names (nginx:1, postgres:15), so the presets find them without a pull.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { busyboxRootfs } from '../../dist/fixtures/busybox-rootfs.js';
import { mayflyHome } from '../../dist/paths.js';

const IMAGES = join(import.meta.dirname, '../../presets/images');
const POSTGRES_TAG = '15'; // what Debian bookworm ships

function has(rt, ref) {
  try {
    rt.inspect(ref);
    return true;
  } catch {
    return false;
  }
}

/** mmdebstrap's minbase tar: the test suite's cached one when present, else made once (~15 s). */
function debianTar(say) {
  const shared = '/var/tmp/mayfly-test-cache/debian-bookworm-minbase.tar';
  if (existsSync(shared)) return shared;
  const own = join(mayflyHome(), 'cache/debian-bookworm-minbase.tar');
  if (existsSync(own)) return own;
  mkdirSync(join(mayflyHome(), 'cache'), { recursive: true });
  say('  making a Debian base with mmdebstrap (about 15 s)…');
  const tmp = `${own}.${process.pid}.tar`;
  execFileSync('mmdebstrap', ['--mode=unshare', '--variant=minbase', '--quiet', 'bookworm', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(tmp, own);
  return own;
}

/** Unpacked inside the user namespace (so owners land right), imported, and the copy removed the same way. */
async function importDebian(rt, say) {
  const tar = debianTar(say);
  const busybox = busyboxRootfs(join(mayflyHome(), 'fixtures/busybox'));
  const dest = mkdtempSync(join(mayflyHome(), 'debian-'));
  const inBusybox = async (command, binds) => {
    const c = await rt.run({ layers: [busybox], command, binds });
    await c.wait();
    await c.remove();
  };
  try {
    say('  importing it as debian:bookworm…');
    // device nodes cannot be made in a user namespace; mayfly binds the host's at run time
    await inBusybox(['tar', '-x', '-f', '/in/base.tar', '-C', '/out'], [{ source: tar, target: '/in/base.tar', readonly: true }, { source: dest, target: '/out' }]);
    await rt.importRootfs(dest, 'debian:bookworm', { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['bash'] });
  } finally {
    await inBusybox(['sh', '-c', 'rm -rf /out/* /out/.[!.]*'], [{ source: dest, target: '/out' }]).catch(() => {});
    rmSync(dest, { recursive: true, force: true });
  }
}

export async function ensureOfflineImages(rt, say) {
  if (has(rt, 'nginx:1') && has(rt, `postgres:${POSTGRES_TAG}`)) return POSTGRES_TAG;
  say('building them once (about a minute; later runs start at once)');
  if (!has(rt, 'debian:bookworm')) await importDebian(rt, say);
  for (const [name, tag] of [['nginx', '1'], ['postgres', POSTGRES_TAG]]) {
    const t = performance.now();
    await rt.build({
      context: join(IMAGES, name),
      tag: `${name}:${tag}`,
      onStep: (s) => s.metadata || say(`  ${name} ${s.index}/${s.total}${s.cached ? ' (cached)' : ''} ${s.text.slice(0, 90)}`),
    });
    say(`  ${name}:${tag} built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return POSTGRES_TAG;
}
