// Scenario 10: rebuilding a small multi-stage project (200 source files, a node_modules that
// .dockerignore keeps out): nothing changed, then one source file changed. mayfly's runtime.build()
// beside `podman build` (its own layer cache; chroot isolation, see below), both warmed by a first
// build that is not timed. Default podman build (runc + conmon per RUN) measured 2026-12-03:
// 2.2 s unchanged, 4.4 s one file changed — and it leaves conmon processes for 5 minutes.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { podman } from '../peers/podman.mjs';
import { iterate, now } from './ready.mjs';

function writeContext(dir, base) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules', 'big'), { recursive: true });
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, 'src', `file-${i}.js`), `export const v${i} = ${i};\n`.repeat(20));
  for (let i = 0; i < 2000; i++) writeFileSync(join(dir, 'node_modules', 'big', `m${i}.js`), 'module.exports = 1;\n');
  writeFileSync(join(dir, 'package.json'), '{"name":"bench-rebuild","version":"1.0.0"}\n');
  writeFileSync(join(dir, '.dockerignore'), 'node_modules\n');
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      `FROM ${base} AS build`,
      'WORKDIR /app',
      'COPY package.json ./',
      'RUN mkdir -p node_modules/dep && echo "module.exports = 1" > node_modules/dep/index.js',
      'COPY src/ src/',
      'RUN cat src/*.js > bundle.js',
      `FROM ${base}`,
      'COPY --from=build /app/bundle.js /srv/bundle.js',
      'CMD ["wc", "-c", "/srv/bundle.js"]',
      '',
    ].join('\n'),
  );
}

export async function rebuild(ctx) {
  const n = ctx.iterations(10);
  const dir = join(ctx.work, 'rebuild-ctx');
  writeContext(dir, ctx.images.busybox);
  const rows = [];
  let edit = 0;
  const touchSource = () => writeFileSync(join(dir, 'src', 'file-7.js'), `export const v7 = ${++edit};\n`);

  const mayflyBuild = async () => {
    const t0 = now();
    let ran = 0;
    await ctx.rt.build({ context: dir, tag: 'bench/rebuild:1', onStepEnd: () => ran++ });
    return { t: now() - t0, ran };
  };
  await mayflyBuild();
  const same = await iterate(n, 1, 0, () => mayflyBuild());
  if (same.ran.some((r) => r !== 0)) throw new Error('mayfly ran steps on a rebuild with nothing changed');
  rows.push({ system: 'mayfly', label: 'mayfly: runtime.build(), nothing changed (no step runs; same image ID)', values: same.t, main: true, short: 'mayfly unchanged' });
  const changed = await iterate(n, 1, 0, () => {
    touchSource();
    return mayflyBuild();
  });
  rows.push({ system: 'mayfly', label: 'mayfly: runtime.build(), one source file changed (COPY src/, RUN, COPY --from run again)', values: changed.t, short: 'mayfly one file' });

  if (ctx.podman) {
    const podmanBuild = async () => {
      const t0 = now();
      // chroot isolation: RUN steps without conmon and runc, whose conmon processes would linger 5 minutes (--exit-delay 300) after each step
      await podman(['build', '--quiet', '--isolation=chroot', '--tls-verify=false', '-t', 'bench-rebuild', dir], ctx.podman.env);
      return { t: now() - t0 };
    };
    await podmanBuild();
    const p1 = await iterate(n, 1, 0, () => podmanBuild());
    rows.push({ system: 'podman', label: 'podman build --isolation=chroot, nothing changed', values: p1.t, peer: true, short: 'podman unchanged' });
    const p2 = await iterate(n, 1, 0, () => {
      touchSource();
      return podmanBuild();
    });
    rows.push({ system: 'podman', label: 'podman build --isolation=chroot, one source file changed', values: p2.t, short: 'podman one file' });
    await podman(['rmi', '--force', 'bench-rebuild'], ctx.podman.env, { allowFailure: true });
  }
  await ctx.rt.rmi('bench/rebuild:1', { force: true }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
  return {
    id: 10,
    shortTitle: 'rebuild',
    title: 'Rebuild of a two-stage project (200 source files, node_modules ignored): nothing changed / one file changed',
    unit: 'ms',
    rows,
    targets: (r) => {
      const mf = r.find((x) => x.main);
      const pd = r.find((x) => x.peer);
      if (!pd) return [{ goal: 'podman not measured here', value: 0, text: '–', met: false }];
      const x = pd.median / mf.median;
      return [{ goal: 'faster than podman (nothing changed)', value: x, text: `${x.toFixed(1)}× podman`, met: x >= 1 }];
    },
  };
}
