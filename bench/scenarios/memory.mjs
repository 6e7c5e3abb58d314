// Scenario 8: resident memory per running container, runtime overhead only (not the containers'
// own processes). USS (unique set size: a process's private pages, what its exit gives back; shared
// library pages are not counted, as they would be once per process in RSS, and PSS would shift
// them around as containers that map the same libraries come and go) of the runtime's processes
// with K static sites running and ready, minus the same with none:
// - mayfly: its sandbox tree without the containers' processes (per container: the `unshare` that
//   holds its namespaces; fixed: the sandbox and the shim it keeps ready);
// - podman (rootful): one conmon per container, nothing fixed (no daemon; no slirp4netns or
//   rootlessport, which only rootless podman runs);
// - podman rootless: conmon, slirp4netns and rootlessport per container; fixed: its pause process;
// - Testcontainers over podman: the conmons plus what podman's API service grows by.
import getPort from 'get-port';
import { mayflyProcesses } from '../peers/mayfly.mjs';
import { conmonPids, podman } from '../peers/podman.mjs';
import { descendants, sum, uss } from './procfs.mjs';
import { sleep, waitHttp } from './ready.mjs';

const K = 10;
const MiB = 2 ** 20;
const SETTLE_MS = 1500;

export async function memory(ctx) {
  const reps = ctx.iterations(3);
  const image = ctx.images.nginx;
  const per = { mayfly: [], podman: [], rootless: [], testcontainers: [] };
  const fixed = { mayfly: [], podman: [], rootless: [], testcontainers: [] };
  const containerPss = { mayfly: [], podman: [], rootless: [], testcontainers: [] };

  const holders = [];
  const sandboxGrowth = [];
  const startK = async () => {
    const cs = [];
    for (let i = 0; i < K; i++) {
      const c = await ctx.rt.run({ image, ports: [{ containerPort: 80 }], pull: 'never' });
      cs.push(c);
      await waitHttp(c.url(80));
    }
    return cs;
  };
  // once unmeasured: the sandbox's heap and compiled code grow on first use, then stay
  await Promise.all((await startK()).map((c) => c.remove({ force: true })));
  for (let rep = 0; rep < reps; rep++) {
    await sleep(SETTLE_MS);
    const before = sum(mayflyProcesses().runtime, uss);
    const cs = await startK();
    await sleep(SETTLE_MS);
    const p = mayflyProcesses();
    const after = sum(p.runtime, uss);
    const held = sum(p.holders, uss);
    per.mayfly.push((after - before) / K / MiB);
    holders.push(held / K / MiB);
    sandboxGrowth.push((after - held - before) / K / MiB);
    fixed.mayfly.push(before / MiB);
    containerPss.mayfly.push(sum(p.containers, uss) / K / MiB);
    await Promise.all(cs.map((c) => c.remove({ force: true })));

    if (ctx.podman) {
      const ids = [];
      for (let i = 0; i < K; i++) {
        const port = await getPort({ host: '127.0.0.1' });
        ids.push(await podman(['run', '-d', '-p', `127.0.0.1:${port}:80`, image], ctx.podman.env));
        await waitHttp(`http://127.0.0.1:${port}/`);
      }
      await sleep(SETTLE_MS);
      const conmons = conmonPids();
      per.podman.push(sum(conmons, uss) / K / MiB);
      fixed.podman.push(0);
      containerPss.podman.push(sum(descendants(conmons).filter((p) => !conmons.includes(p)), uss) / K / MiB);
      await podman(['rm', '-f', ...ids], ctx.podman.env);
    }

    if (ctx.podmanRootless) {
      const rl = ctx.podmanRootless;
      const ids = [];
      for (let i = 0; i < K; i++) {
        const port = await getPort({ host: '127.0.0.1' });
        ids.push(await rl.run(['run', '-d', '-p', `127.0.0.1:${port}:80`, image]));
        await waitHttp(`http://127.0.0.1:${port}/`);
      }
      await sleep(SETTLE_MS);
      const ps = rl.processes();
      const helpers = [...ps.conmon, ...ps.slirp4netns, ...ps.rootlessport];
      per.rootless.push(sum(helpers, uss) / K / MiB);
      fixed.rootless.push(sum(ps.pause, uss) / MiB);
      containerPss.rootless.push(sum(descendants(ps.conmon).filter((p) => !helpers.includes(p)), uss) / K / MiB);
      await rl.run(['rm', '-f', ...ids]);
    }

    if (ctx.tc) {
      const { GenericContainer, Wait } = ctx.tc.module;
      await sleep(SETTLE_MS);
      const service = () => descendants([ctx.tc.servicePid]);
      const svcBefore = sum(service(), uss);
      const cs2 = [];
      for (let i = 0; i < K; i++) cs2.push(await new GenericContainer(image).withExposedPorts(80).withWaitStrategy(Wait.forHttp('/', 80).withReadTimeout(20)).start());
      await sleep(SETTLE_MS);
      const conmons = conmonPids();
      per.testcontainers.push((sum(conmons, uss) + sum(service(), uss) - svcBefore) / K / MiB);
      fixed.testcontainers.push(svcBefore / MiB);
      containerPss.testcontainers.push(sum(descendants(conmons).filter((p) => !conmons.includes(p)), uss) / K / MiB);
      await Promise.all(cs2.map((c) => c.stop()));
    }
  }

  const labels = {
    mayfly: 'mayfly: growth of the sandbox tree per container (the sandbox, its `unshare` per container, the shim kept ready)',
    podman: 'podman (rootful): conmon per container',
    rootless: 'podman rootless: conmon + slirp4netns + rootlessport per container',
    testcontainers: 'Testcontainers over podman: conmon + API service growth per container',
  };
  const rows = Object.keys(per)
    .filter((s) => per[s].length)
    .map((s) => ({ system: s === 'rootless' ? 'podman' : s, key: s, label: labels[s], values: per[s], main: s === 'mayfly', fixed: fixed[s], container: containerPss[s], short: { mayfly: 'mayfly', podman: 'podman', rootless: 'podman rootless', testcontainers: 'Testcontainers' }[s] }));
  return {
    id: 8,
    shortTitle: 'memory per running container, runtime only (USS)',
    title: `Resident memory per running container, runtime overhead only (USS, private memory, with ${K} static sites running)`,
    unit: 'MiB',
    rows,
    extra: {
      title: 'Beside it: fixed cost with no container, and the containers’ own processes (USS, MiB)',
      unit: 'MiB',
      rows: [
        { system: 'mayfly', label: 'mayfly: of the above, the per-container `unshare` holding its namespaces', values: holders },
        { system: 'mayfly', label: 'mayfly: of the above, the sandbox’s growth (its heap: within the noise of garbage collection)', values: sandboxGrowth },
      ].concat(rows.flatMap((r) => [
        { system: r.system, label: `${r.short}: fixed (${{ mayfly: 'sandbox + a shim kept ready', podman: 'no daemon', rootless: 'the pause process holding its user namespace', testcontainers: 'podman system service' }[r.key]})`, values: r.fixed },
        { system: r.system, label: `${r.short}: one nginx container’s own processes`, values: r.container },
      ])),
    },
    targets: (s) => {
      const m = s.find((r) => r.main);
      const rl = s.find((r) => r.key === 'rootless');
      const p = rl ?? s.find((r) => r.key === 'podman');
      if (!p) return [];
      const x = m.median / p.median;
      const what = rl ? 'rootless podman’s conmon + slirp4netns + rootlessport' : 'rootful podman’s conmon (no slirp when rootful)';
      return [{ goal: "≤ 1/5 of podman's conmon + slirp overhead", value: x, text: `${m.median.toFixed(2)} MiB vs ${p.median.toFixed(2)} MiB per container for ${what} = ${x.toFixed(2)}×`, met: x <= 0.2 }];
    },
  };
}
