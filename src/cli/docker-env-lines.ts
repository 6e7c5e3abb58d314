/**
 * What `mayfly docker-env` prints for a shell to evaluate. Testcontainers (every language) takes the
 * Docker host to be the default bridge's gateway when its process finds /.dockerenv — right for a
 * Docker daemon outside the container, wrong for mayfly, whose bridge lives in its rootless sandbox
 * and whose published ports listen on the loopback of the machine the keeper runs on (the one the
 * shell evaluating this runs on too). So where /.dockerenv is seen, the override is printed beside
 * DOCKER_HOST — unless the user has set one already.
 */
export interface DockerEnvSituation {
  /** /.dockerenv exists where the command runs */
  inContainer: boolean;
  /** TESTCONTAINERS_HOST_OVERRIDE as the command found it */
  hostOverride: string | undefined;
}

export const TC_HOST_OVERRIDE = 'TESTCONTAINERS_HOST_OVERRIDE';

export function dockerEnvLines(dockerHost: string, s: DockerEnvSituation, unset = false): string {
  const override = s.inContainer && s.hostOverride === undefined;
  if (unset) return `unset DOCKER_HOST${s.inContainer && s.hostOverride === 'localhost' ? ` ${TC_HOST_OVERRIDE}` : ''}\n`;
  return `export DOCKER_HOST=${dockerHost}\n${override ? `export ${TC_HOST_OVERRIDE}=localhost\n` : ''}`;
}
