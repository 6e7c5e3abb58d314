// Scenario 6: pull of the nginx preset image (~100 MB of gzip layers) from the bench registry into an
// empty store each time: mayfly (download, verify, extract; the sandbox is started before the
// clock), skopeo copy to a directory (download and verify only: the floor of any pull), podman pull
// into an empty storage root (download, verify, extract).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime } from '../../dist/engine/runtime.js';
import { PODMAN_DIR, podman } from '../peers/podman.mjs';
import { iterate, now, runProgram } from './ready.mjs';

export async function pull(ctx) {
  const n = ctx.iterations(5);
  const ref = ctx.images.nginx;
  const rows = [];

  const m = await iterate(n, 0, 0, async (i) => {
    const home = join(ctx.work, `pull-${i}`);
    const rt = await Runtime.start({ home, onWarning: () => {} });
    try {
      const t0 = now();
      await rt.pull(ref);
      return { t: now() - t0 };
    } finally {
      await rt.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
  rows.push({ system: 'mayfly', label: 'mayfly: runtime.pull() into an empty store (download, verify, extract)', values: m.t, main: true, short: 'mayfly' });

  const s = await iterate(n, 0, 0, async (i) => {
    const dir = join(ctx.work, `skopeo-${i}`);
    const t0 = now();
    await runProgram('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `dir:${dir}`]);
    const t = now() - t0;
    rmSync(dir, { recursive: true, force: true });
    return { t };
  });
  rows.push({ system: 'skopeo', label: 'skopeo copy docker://… dir:… (download, verify; nothing extracted)', values: s.t, peer: true, short: 'skopeo (no extraction)' });

  if (ctx.podman) {
    const root = join(PODMAN_DIR, 'pull-store');
    const p = await iterate(n, 0, 0, async () => {
      await podman(['--root', `${root}/graph`, '--runroot', `${root}/run`, 'system', 'reset', '--force'], ctx.podman.env, { allowFailure: true });
      rmSync(root, { recursive: true, force: true });
      const t0 = now();
      await podman(['--root', `${root}/graph`, '--runroot', `${root}/run`, 'pull', '--quiet', ref], ctx.podman.env);
      return { t: now() - t0 };
    });
    await podman(['--root', `${root}/graph`, '--runroot', `${root}/run`, 'system', 'reset', '--force'], ctx.podman.env, { allowFailure: true });
    rmSync(root, { recursive: true, force: true });
    rows.push({ system: 'podman', label: 'podman pull into an empty storage root (download, verify, extract)', values: p.t, short: 'podman' });
  }
  const layers = ctx.imageSizes?.nginx;
  return {
    id: 6,
    shortTitle: 'pull into an empty store',
    title: `Pull of a ${layers ? `${(layers / 1e6).toFixed(0)} MB` : '~100 MB'} image from the local registry, empty store`,
    unit: 'ms',
    rows,
    targets: (r) => {
      const mf = r.find((x) => x.main);
      const sk = r.find((x) => x.peer);
      const x = mf.median / sk.median;
      return [{ goal: '≤ 1.2× skopeo', value: x, text: `${x.toFixed(2)}× skopeo`, met: x <= 1.2 }];
    },
  };
}
