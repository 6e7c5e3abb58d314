/**
 * Network and DockerComposeEnvironment through `mayfly/testcontainers`: containers reaching each
 * other by alias, network ids and addresses; a compose file up in this process's runtime, its
 * containers by Testcontainers' names, their wait strategies, stop and down.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRuntime } from '../../src/harness/session.js';
import { DockerComposeEnvironment, GenericContainer, Network, Wait } from '../../src/testcontainers/index.js';
import { caught } from '../support/runtime.js';
import { busyboxImage, HTTP_PORT, TC_IMAGE, useTestcontainerImages } from '../support/tc-images.js';

useTestcontainerImages();
const image = () => TC_IMAGE;

describe('Network', () => {
  it('containers on a network reach each other by alias; getNetworkNames, getNetworkId, getIpAddress; stop() removes it', async () => {
    const network = await new Network().start();
    const server = await new GenericContainer(image()).withNetwork(network).withNetworkAliases('web', 'www').withExposedPorts(HTTP_PORT).start();
    const client = await new GenericContainer(busyboxImage()).withNetwork(network).withCommand(['sleep', '60']).withWaitStrategy(Wait.forSuccessfulCommand('true')).start();
    try {
      expect(server.getNetworkNames()).toEqual([network.getName()]);
      expect(server.getNetworkId(network.getName())).toBe(network.getId());
      expect(server.getIpAddress(network.getName())).toMatch(/^10\.89\.\d+\.\d+$/);
      for (const host of ['web', 'www', server.getIpAddress(network.getName())]) {
        expect((await client.exec(['wget', '-qO-', `http://${host}:${HTTP_PORT}/hello-world`])).stdout).toBe('hello-world');
      }
      expect(() => server.getNetworkId('elsewhere')).toThrow(/not on network elsewhere/);
    } finally {
      await server.stop();
      await client.stop();
    }
    await network.stop();
    expect((await sharedRuntime()).networks().map((n) => n.name)).not.toContain(network.getName());
  });

  it('a network name as withNetworkMode; "none" leaves only loopback; container:… is refused', async () => {
    await using network = await new Network().start();
    await using c = await new GenericContainer(busyboxImage()).withNetworkMode(network.getName()).withCommand(['sleep', '60']).withWaitStrategy(Wait.forSuccessfulCommand('true')).start();
    expect(c.getNetworkNames()).toEqual([network.getName()]);
    await using none = await new GenericContainer(busyboxImage()).withNetworkMode('none').withCommand(['sleep', '60']).withWaitStrategy(Wait.forSuccessfulCommand('true')).start();
    expect((await none.exec(['ls', '/sys/class/net'])).stdout.trim()).toBe('lo');
    expect((await caught(new GenericContainer(busyboxImage()).withNetworkMode('container:other').start())).code).toBe('UNSUPPORTED');
  });
});

describe('DockerComposeEnvironment', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'tc-compose-'));
    mkdirSync(join(dir, 'api'));
    writeFileSync(join(dir, 'api/Dockerfile'), `FROM ${image()}\nARG GREETING=none\nRUN echo "$GREETING" > /greeting\n`);
    writeFileSync(
      join(dir, 'compose.yml'),
      `services:
  web:
    image: ${image()}
    ports: ["${HTTP_PORT}"]
    environment:
      GREETING: \${GREETING:-hello}
  client:
    image: ${busyboxImage()}
    # depends_on's short form waits for web to start, not to listen (as Docker's compose): try until it answers
    command: sh -c 'until wget -qO- http://web:${HTTP_PORT}/hello-world > /tmp/fetched; do sleep 0.1; done; echo fetched; exec sleep 60'
    depends_on: [web]
  api:
    build: { context: ./api, args: { GREETING: built } }
    ports: ["${HTTP_PORT}"]
  migrate:
    image: ${busyboxImage()}
    command: ["sh", "-c", "echo migrated"]
  extra:
    image: ${busyboxImage()}
    command: ["sleep", "60"]
    profiles: [debug]
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('up(): the services side by side on their network, each awaited (default: its ports), by Testcontainers\' names; down() removes all', async () => {
    const env = await new DockerComposeEnvironment(dir, 'compose.yml')
      .withEnvironment({ GREETING: 'from withEnvironment' })
      .withWaitStrategy('client-1', Wait.forLogMessage('fetched'))
      .withWaitStrategy('migrate-1', Wait.forOneShotStartup())
      .up();
    const web = env.getContainer('web-1');
    const client = env.getContainer('client-1');
    expect(web.getName()).toBe('web-1');
    expect(await (await fetch(`http://${web.getHost()}:${web.getMappedPort(HTTP_PORT)}/hello-world`)).text()).toBe('hello-world');
    expect(await (await fetch(`http://${web.getHost()}:${web.getMappedPort(HTTP_PORT)}/env`)).json()).toMatchObject({ GREETING: 'from withEnvironment' });
    expect((await client.exec(['cat', '/tmp/fetched'])).stdout).toBe('hello-world');
    const api = env.getContainer('api-1');
    expect((await api.exec(['cat', '/greeting'])).output).toBe('built\n');
    expect(await (await fetch(`http://${api.getHost()}:${api.getMappedPort(HTTP_PORT)}/hello-world`)).text()).toBe('hello-world');
    expect(() => env.getContainer('extra-1')).toThrow('Cannot get container "extra-1" as it is not running');
    const network = web.getNetworkNames()[0]!;
    expect(network).toMatch(/^testcontainers-[0-9a-f]+_default$/);
    const stopped = await env.stop();
    await stopped.down();
    const rt = await sharedRuntime();
    expect(rt.networks().map((n) => n.name)).not.toContain(network);
  });

  it('withNoRecreate(): the project lives in the keeper, found again unchanged by the next up; down() removes it', async () => {
    const name = `tc-kept-${process.pid}`;
    const first = await new DockerComposeEnvironment(dir, 'compose.yml').withNoRecreate().withProjectName(name).up(['web']);
    const again = await new DockerComposeEnvironment(dir, 'compose.yml').withNoRecreate().withProjectName(name).up(['web']);
    const web = again.getContainer('web-1');
    expect(web.getId()).toBe(first.getContainer('web-1').getId());
    expect(await (await fetch(`http://${web.getHost()}:${web.getMappedPort(HTTP_PORT)}/hello-world`)).text()).toBe('hello-world');
    await again.down();
    await expect(fetch(`http://${web.getHost()}:${web.getMappedPort(HTTP_PORT)}/hello-world`)).rejects.toThrow();
  });

  it('profiles, services, several files merged, a failing wait (everything removed), and what mayfly\'s compose cannot do', async () => {
    await using env = await new DockerComposeEnvironment(dir, 'compose.yml').withProfiles('debug').up(['extra']);
    expect(env.getContainer('extra-1').getId()).toBeTruthy();
    expect(() => env.getContainer('web-1')).toThrow(/not running/);
    const rt = await sharedRuntime();
    // named, so that what it leaves is told apart from other files' networks in this home
    const failing = `tc-fail-${process.pid}`;
    const e = await caught(new DockerComposeEnvironment(dir, 'compose.yml').withProjectName(failing).withWaitStrategy('web-1', Wait.forLogMessage('never')).withStartupTimeout(500).up(['web']));
    expect(e.message).toMatch(/^Log message "never" not received after 500ms/);
    expect(rt.networks().map((n) => n.name).filter((n) => n.startsWith(failing))).toEqual([]);
    writeFileSync(join(dir, 'override.yml'), 'services:\n  web:\n    environment:\n      GREETING: from the override\n');
    await using two = await new DockerComposeEnvironment(dir, ['compose.yml', 'override.yml']).up(['web']);
    const web = two.getContainer('web-1');
    expect(await (await fetch(`http://${web.getHost()}:${web.getMappedPort(HTTP_PORT)}/env`)).json()).toMatchObject({ GREETING: 'from the override' });
    const refused = await caught(new DockerComposeEnvironment(dir, 'compose.yml').withClientOptions({ composeOptions: ['--verbose'] }).up());
    expect(refused.code).toBe('UNSUPPORTED');
  });
});
