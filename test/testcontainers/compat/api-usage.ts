/**
 * Code written against testcontainers-node 11's types, touching its public API broadly. It is
 * type-checked twice: against `testcontainers` itself (tsconfig.check.json: it is real
 * Testcontainers code) and against `mayfly/testcontainers` (tsconfig.testcontainers.json maps the
 * import there): a suite written for Testcontainers type-checks unchanged on mayfly. Never run.
 */
import { Readable } from 'node:stream';
import {
  AbstractStartedContainer,
  DockerComposeEnvironment,
  GenericContainer,
  Network,
  PullPolicy,
  TestContainers,
  Wait,
  getContainerPort,
  hasHostBinding,
  type ExecResult,
  type ImagePullPolicy,
  type InspectResult,
  type PortWithOptionalBinding,
  type StartedDockerComposeEnvironment,
  type StartedNetwork,
  type StartedTestContainer,
  type StoppedTestContainer,
  type TestContainer,
  type WaitStrategy,
} from 'testcontainers';

class CustomPolicy implements ImagePullPolicy {
  shouldPull(): boolean {
    return process.env.CI === 'true';
  }
}

class StartedApi extends AbstractStartedContainer {
  url(path: string): string {
    return `http://${this.getHost()}:${this.getMappedPort(8080)}${path}`;
  }
}

class ApiContainer extends GenericContainer {
  constructor() {
    super('my/api:1');
    this.withExposedPorts(8080).withStartupTimeout(30_000);
  }

  protected override async containerStarted(container: StartedTestContainer, inspect: InspectResult, reused: boolean): Promise<void> {
    if (!reused) await container.exec(['migrate', inspect.name]);
  }

  override async start(): Promise<StartedApi> {
    return new StartedApi(await super.start());
  }
}

// the types the package's index does not export, as its users name them
type BindMount = Parameters<GenericContainer['withBindMounts']>[0][number];
type ContentToCopy = Parameters<GenericContainer['withCopyContentToContainer']>[0][number];
type HealthCheck = Parameters<GenericContainer['withHealthCheck']>[0];

export async function everyBuilderMethod(network: StartedNetwork): Promise<StartedTestContainer> {
  const mounts: BindMount[] = [{ source: '/tmp/data', target: '/data', mode: 'ro' }];
  const content: ContentToCopy[] = [{ content: 'x', target: '/x' }, { content: Buffer.from('y'), target: '/y', mode: 0o644 }, { content: Readable.from(['z']), target: '/z' }];
  const healthCheck: HealthCheck = { test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], interval: 1000, timeout: 3000, retries: 5, startPeriod: 1000 };
  const ports: PortWithOptionalBinding[] = [8080, '53/udp', { container: 9090, host: 19090 }];
  const container: TestContainer = new GenericContainer('alpine:3')
    .withEnvironment({ A: '1' })
    .withCommand(['sleep', 'infinity'])
    .withEntrypoint(['/bin/sh', '-c'])
    .withName('named')
    .withLabels({ team: 'x' })
    .withPlatform('linux/amd64')
    .withTmpFs({ '/tmp': 'rw,noexec' })
    .withUlimits({ nofile: { hard: 1024, soft: 1024 } })
    .withSecurityOpt('no-new-privileges')
    .withAddedCapabilities('NET_ADMIN')
    .withDroppedCapabilities('MKNOD')
    .withNetwork(network)
    .withNetworkMode(network.getName())
    .withNetworkAliases('alias')
    .withExtraHosts([{ host: 'db', ipAddress: '10.0.0.2' }])
    .withExposedPorts(...ports)
    .withBindMounts(mounts)
    .withHealthCheck(healthCheck)
    .withStartupTimeout(60_000)
    .withWaitStrategy(Wait.forHealthCheck())
    .withDefaultLogDriver()
    .withPrivilegedMode()
    .withUser('1000:1000')
    .withReuse()
    .withAutoCleanup(true)
    .withAutoRemove(true)
    .withPullPolicy(PullPolicy.alwaysPull())
    .withIpcMode('private')
    .withCopyFilesToContainer([{ source: '/etc/hosts', target: '/hosts', mode: 0o600 }])
    .withCopyDirectoriesToContainer([{ source: '/etc', target: '/etc-copy' }])
    .withCopyContentToContainer(content)
    .withCopyArchivesToContainer([{ tar: Readable.from([]), target: '/' }])
    .withCopyToContainerOptions({ copyUIDGID: false })
    .withWorkingDir('/srv')
    .withResourcesQuota({ memory: 0.5, cpu: 1 })
    .withSharedMemorySize(128 * 1024 * 1024)
    .withLogConsumer((stream) => stream.on('data', (line: string) => process.stdout.write(line)))
    .withHostname('host')
    .withPullPolicy(new CustomPolicy());
  return container.start();
}

export async function everyStartedMethod(c: StartedTestContainer): Promise<StoppedTestContainer> {
  const host: string = c.getHost();
  const hostname: string = c.getHostname();
  const ports: number[] = [c.getFirstMappedPort(), c.getMappedPort(8080), c.getMappedPort(53, 'udp'), c.getMappedPort('53/udp')];
  const id: string = c.getId() + c.getName() + Object.keys(c.getLabels()).join();
  const networks = c.getNetworkNames().map((n) => [c.getNetworkId(n), c.getIpAddress(n)]);
  const r: ExecResult = await c.exec(['ls'], { workingDir: '/', user: 'root', env: { A: '1' } });
  const s: ExecResult = await c.exec('ls -l');
  const out: string = r.output + r.stdout + r.stderr + String(r.exitCode) + s.output;
  await c.copyFilesToContainer([{ source: '/etc/hosts', target: '/hosts' }]);
  await c.copyDirectoriesToContainer([{ source: '/etc', target: '/etc2' }]);
  await c.copyContentToContainer([{ content: 'x', target: '/x' }]);
  await c.copyArchiveToContainer(Readable.from([]), '/dest', { noOverwriteDirNonDir: true });
  const tar: NodeJS.ReadableStream = await c.copyArchiveFromContainer('/etc');
  const logs: Readable = await c.logs({ since: 0, tail: 10 });
  const image: string = await c.commit({ repo: 'r', tag: 't', changes: ['ENV A=1'], deleteOnExit: false });
  await c.restart({ timeout: 1000 });
  void [host, hostname, ports, id, networks, out, tar, logs, image];
  const stopped = await c.stop({ timeout: 10_000, remove: false, removeVolumes: true });
  await stopped.copyArchiveFromContainer('/etc');
  return stopped;
}

export async function waitStrategies(): Promise<WaitStrategy[]> {
  return [
    Wait.forAll([Wait.forListeningPorts(), Wait.forLogMessage('ready'), Wait.forLogMessage(/ready/, 2)]).withDeadline(30_000).withStartupTimeout(10_000),
    Wait.forHealthCheck().withStartupTimeout(5000),
    Wait.forOneShotStartup(),
    Wait.forHttp('/health', 8080, { abortOnContainerExit: true })
      .forStatusCode(200)
      .forStatusCodeMatching((s) => s < 400)
      .forResponsePredicate((body) => body.includes('UP'))
      .withMethod('POST')
      .withHeaders({ 'X-Probe': '1' })
      .withBasicCredentials('u', 'p')
      .withReadTimeout(2000)
      .usingTls()
      .allowInsecure(),
    Wait.forSuccessfulCommand('pg_isready').withStartupTimeout(100),
  ];
}

export async function networksComposeAndBuilds(): Promise<void> {
  await using network = await new Network().start();
  const id: string = network.getId() + network.getName();
  const built: GenericContainer = await GenericContainer.fromDockerfile('/ctx', 'Dockerfile.test')
    .withBuildArgs({ A: '1' })
    .withPullPolicy(PullPolicy.defaultPolicy())
    .withCache(true)
    .withBuildkit()
    .withPlatform('linux/amd64')
    .withTarget('final')
    .build('img:tag', { deleteOnExit: false });
  await using api = await new ApiContainer().start();
  const env: StartedDockerComposeEnvironment = await new DockerComposeEnvironment('/dir', 'compose.yml')
    .withBuild()
    .withEnvironment({ TAG: '1' })
    .withEnvironmentFile('.env.test')
    .withProfiles('debug')
    .withPullPolicy(PullPolicy.alwaysPull())
    .withDefaultWaitStrategy(Wait.forListeningPorts())
    .withWaitStrategy('redis-1', Wait.forLogMessage('Ready'))
    .withStartupTimeout(30_000)
    .withProjectName('p')
    .up(['redis']);
  const redis = env.getContainer('redis-1');
  await TestContainers.exposeHostPorts(3000, 3001);
  const stopped = await env.stop();
  await stopped.down({ removeVolumes: false });
  await env.down({ timeout: 0 });
  void [id, built, api.url('/'), redis.getMappedPort(6379), getContainerPort(8080), hasHostBinding({ container: 1, host: 2 })];
}
