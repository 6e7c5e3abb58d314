// A test process that starts one long-running container and is then killed with SIGKILL by the
// bench (leftovers.mjs): node owner.mjs mayfly|podman|testcontainers IMAGE SECONDS
// Prints "ready" once the container runs. The environment selects the store (MAYFLY_HOME, podman's
// CONTAINERS_* variables, DOCKER_HOST for Testcontainers).
import { spawnSync } from 'node:child_process';

const [system, image, seconds] = process.argv.slice(2);
const command = ['sleep', seconds];
if (system === 'mayfly') {
  const { Runtime } = await import('../../dist/engine/runtime.js');
  const rt = await Runtime.start({ onWarning: () => {} });
  await rt.run({ image, command });
} else if (system === 'podman') {
  const r = spawnSync('podman', ['run', '-d', image, ...command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
} else if (system === 'testcontainers') {
  const { GenericContainer } = await import('testcontainers');
  await new GenericContainer(image).withCommand(command).start();
} else throw new Error(`unknown system ${system}`);
process.stdout.write('ready\n');
setInterval(() => {}, 1000); // the test goes on, until it is killed
