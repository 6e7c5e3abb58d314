/**
 * Debian's docker-compose (1.29, docker-py), unmodified, against mayfly's Docker API: up -d, ps,
 * logs, down on a two-service file — the web service published on a host port, the other one
 * built by compose (through `docker build`) and reaching web by its service name on the project's network.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { BUSYBOX, until } from '../support/runtime.js';
import { client, DOCKER_COMPOSE, docker, dockerEnv, dockerOk, ok } from './docker-clients.js';

const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
const tag = `${process.pid}`;
const IMAGE = `${REGISTRY}/api-compose/busybox:${tag}`;

beforeAll(async () => {
  await dockerEnv();
  await pushImage(`http://${REGISTRY}`, 'api-compose/busybox', tag, [await tarOfDir(BUSYBOX)], { Cmd: ['sh'], Env: ['PATH=/bin'] });
}, 120_000);

const COMPOSE_FILE = `version: "3.8"
services:
  web:
    image: ${IMAGE}
    command: ["sh", "-c", "echo web up; mkdir -p /www; echo hello from web > /www/index.html; exec httpd -f -p 80 -h /www"]
    ports:
      - "127.0.0.1::80"
  probe:
    build:
      context: ./probe
      args:
        BASE: ${IMAGE}
    command: ["sh", "-c", "cat /built-by; until wget -qO- http://web/; do sleep 0.2; done; exec sleep 300"]
    depends_on:
      - web
`;

describe('docker-compose up -d / ps / logs / down', () => {
  it('brings a two-service project up, lists it, shows its logs, takes it down', async () => {
    const dir = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'api-compose-'));
    writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE_FILE);
    mkdirSync(join(dir, 'probe'));
    writeFileSync(join(dir, 'probe', 'Dockerfile'), 'ARG BASE\nFROM $BASE\nRUN echo compose > /built-by\n');
    const project = `apicompose${tag}`;
    const compose = (...args: string[]) => ok(DOCKER_COMPOSE, ['-p', project, ...args], { cwd: dir });
    try {
      await compose('up', '-d');
      const ps = await compose('ps');
      expect(ps).toMatch(new RegExp(`${project}_web_1 .+ Up .+127\\.0\\.0\\.1:\\d+->80/tcp`));
      expect(ps).toMatch(new RegExp(`${project}_probe_1 .+ Up`));
      const port = (await compose('port', 'web', '80')).trim();
      expect(await (await fetch(`http://${port}/`)).text()).toBe('hello from web\n');
      // the probe found web by its service name on the project's network
      let probe = '';
      await until(async () => (probe = await compose('logs', '--no-color', 'probe')).includes('hello from web'), 20_000, "the probe's log line");
      expect(probe).toMatch(/\| compose$/m); // the line of the image compose built
      expect(await compose('logs', '--no-color', 'web')).toContain('web up');
      expect(await dockerOk('network', 'ls', '-q', '--filter', `name=${project}_default`)).not.toBe('');
    } finally {
      // -t 0: both services run a shell or sleep as PID 1, which ignores SIGTERM; down stops them in
      // dependency order, so the default 10 s grace would be waited out twice
      const down = await client(DOCKER_COMPOSE, ['-p', project, 'down', '-t', '0', '--rmi', 'local'], { cwd: dir });
      expect(down.status, down.stderr).toBe(0);
    }
    expect(await dockerOk('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`)).toBe('');
    expect((await docker('network', 'inspect', `${project}_default`)).status).not.toBe(0);
    expect(await dockerOk('images', '-q', `${project}_probe`)).toBe('');
  }, 120_000);
});
