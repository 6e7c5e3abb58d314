// podman from Debian as a peer, configured so that it runs on this kind of machine (rootful, runc,
// cgroupfs, ulimits inside the host's hard limits) with all its state in a private directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = '/var/tmp/mayfly-bench/podman';

export const PODMAN_CONFIG = 'podman (Debian) rootful, runtime runc, cgroup_manager cgroupfs, default_ulimits nofile=20000 nproc=32768, --network none';

export function podmanEnv() {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(
    join(DIR, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  writeFileSync(join(DIR, 'storage.conf'), `[storage]\ndriver = "overlay"\ngraphroot = "${DIR}/graph"\nrunroot = "${DIR}/run"\n`);
  return { ...process.env, CONTAINERS_CONF: join(DIR, 'containers.conf'), CONTAINERS_STORAGE_CONF: join(DIR, 'storage.conf') };
}

/** Why podman cannot be measured here, or undefined when it can. */
export function podmanUnavailable() {
  if (process.getuid() !== 0) return 'podman peer runs rootful: run the bench as root';
  if (spawnSync('podman', ['--version']).status !== 0) return 'podman not installed (apt install podman runc)';
  return undefined;
}

/** Imports a root filesystem directory as a podman image (once). */
export function importRootfs(rootfs, name) {
  const env = podmanEnv();
  if (spawnSync('podman', ['image', 'exists', name], { env }).status === 0) return;
  execFileSync('sh', ['-c', `tar -C "${rootfs}" -c . | podman import - "${name}"`], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}
