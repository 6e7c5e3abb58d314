/**
 * `mayfly compose` through the real CLI, keeper and runtime: a small shop (a web server, a one-shot
 * migration, an app built from a Dockerfile with secrets and configs, a database brought in with
 * `include`, a debug tool behind a profile), then foreground `up` ended by real signals.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, tarOfDir } from '../support/images.js';
import { BUSYBOX, isRoot, until, useRuntime } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const REGISTRY = process.env.MAYFLY_TEST_REGISTRY!;
const IMAGE = `${REGISTRY}/mayfly-test/compose-busybox:${process.pid}`;
const { runtime } = useRuntime();

// a shop as people write them: an anchor for what services share, an include, an extends, secrets, configs, a profile
const SHOP = `
name: shop
x-busybox: &busybox
  image: \${IMAGE}
  init: true
  x-owner: storefront

include:
  - db/compose.yaml

services:
  web:
    <<: *busybox
    command: sh -c 'mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 80 -h /www'
    environment:
      GREETING: \${GREETING:-hello-compose}
    healthcheck:
      test: ["CMD", "wget", "-qO-", "http://127.0.0.1/"]
      interval: 1s
  migrate:
    extends: { file: common.yaml, service: task }
    command: ["sh", "-c", "echo migrated from $$TASK_ORIGIN"]
  app:
    build:
      context: ./app
      dockerfile: app.Dockerfile
      target: runtime
      args: { SRV_DIR: /srv }
      secrets: [{ source: api_token, target: npm_token }]
      labels: { com.example.team: storefront }
    init: true
    depends_on:
      web: { condition: service_healthy, restart: true }
      migrate: { condition: service_completed_successfully }
      db: { condition: service_started }
    ports: ["8080"]
    volumes: ["cache:/cache", "./site:/srv/site", "/srv/site/vendor"]
    restart: unless-stopped
    post_start:
      - command: sh -c 'echo started >> /cache/hooks'
    pre_stop:
      - command: ["sh", "-c", "echo stopping >> /cache/hooks"]
    secrets:
      - db_password
      - { source: api_token, target: token, mode: 0400 }
${isRoot ? '      - { source: db_password, target: /run/secrets/owned, uid: "1000", gid: "1000", mode: 0440 }\n' : ''}    configs:
      - { source: app_conf, target: /etc/app.conf }
      - motd
    command: sh -c 'until wget -qO- http://web/ > /srv/index.html; do sleep 0.2; done; echo app-ready; cd /srv && exec httpd -f -p 8080'
  debug:
    <<: *busybox
    profiles: [debug]
    command: sh -c 'echo debugging; exec sleep 3600'

volumes:
  cache: {}
secrets:
  db_password: { file: ./secrets/db_password.txt }
  api_token: { environment: API_TOKEN }
configs:
  app_conf:
    content: |
      listen=8080
      greeting=\${GREETING:-hello-compose}
  motd: { file: ./motd.txt }
`;

let dir = '';
const env = { ...process.env, IMAGE, API_TOKEN: 't0ken-from-env' };
const compose = (...args: string[]) => spawnSync(process.execPath, [BIN, 'compose', ...args], { cwd: dir, encoding: 'utf8', timeout: 180_000, env });
const mayfly = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 60_000, env });

/** A scratch project directory with these files. */
function projectDir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'mayfly-compose-'));
  for (const [f, c] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), c);
  }
  return d;
}

async function get(url: string): Promise<string> {
  let body = '';
  await until(async () => (body = await fetch(url).then((r) => (r.ok ? r.text() : ''), () => '')) !== '', 15_000, url);
  return body;
}

beforeAll(async () => {
  // in the run's registry, not in the store: `compose pull` has something to do
  await pushImage(`http://${REGISTRY}`, `mayfly-test/compose-busybox`, String(process.pid), [await tarOfDir(BUSYBOX)], { Env: ['PATH=/bin:/sbin'] });
  dir = projectDir({
    'compose.yaml': SHOP,
    'common.yaml': 'services:\n  task:\n    image: ${IMAGE}\n    environment: { TASK_ORIGIN: common.yaml }\n',
    'db/compose.yaml': 'services:\n  db:\n    image: ${IMAGE}\n    init: true\n    env_file: db.env\n    command: sh -c \'echo "db up as $$DB_NAME"; exec sleep 3600\'\n',
    'db/db.env': 'DB_NAME="shop db" # from db/db.env\n',
    // the stage, the file, the build arg and the build secret compose names: the last stage fails if it is built
    'app/app.Dockerfile': [
      `FROM ${IMAGE} AS runtime`,
      'ARG SRV_DIR',
      'RUN --mount=type=secret,id=npm_token test "$(cat /run/secrets/npm_token)" = t0ken-from-env && mkdir -p "$SRV_DIR/site/vendor" && echo from-image > "$SRV_DIR/site/vendor/lib.txt"',
      `FROM ${IMAGE} AS last`,
      'RUN exit 2',
      '',
    ].join('\n'),
    'site/page.txt': 'from the host\n',
    'secrets/db_password.txt': 's3cret-pw\n',
    'motd.txt': 'welcome\n',
  });
  chmodSync(join(dir, 'secrets/db_password.txt'), 0o640);
});

afterAll(async () => {
  compose('down', '-v'); // the keeper itself is shared by the run's test files: global teardown ends it
  rmSync(dir, { recursive: true, force: true });
  for (const image of [IMAGE, 'shop-app']) await runtime().rmi(image, { force: true }).catch(() => {});
});

// a whole project goes up and down in these: minutes on a busy two-core machine
describe('mayfly compose: a project', { timeout: 180_000 }, () => {
  it('config lists the services that are on, the profiles and volumes', () => {
    expect(compose('config', '--services').stdout.split('\n').filter(Boolean).sort()).toEqual(['app', 'db', 'migrate', 'web']);
    expect(compose('--profile', 'debug', 'config', '--services').stdout).toMatch(/^debug$/m);
    expect(compose('config', '--profiles').stdout).toBe('debug\n');
    expect(compose('config', '--volumes').stdout).toBe('cache\n');
    const plans = JSON.parse(compose('config').stdout) as { service: string; options: { image: string } }[];
    expect(plans.find((x) => x.service === 'migrate')?.options.image).toBe(IMAGE); // from common.yaml, through extends
  });

  it('pull fetches the images of the services that do not build theirs', () => {
    const r = compose('pull');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Pulled ${IMAGE}`);
    expect(r.stderr).toMatch(/Skipping app: it builds its image/);
  });

  it('build builds the services with a build section', () => {
    const r = compose('build', 'app');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Building app \(.*, stage runtime\)/);
    expect(r.stderr).toMatch(/Built shop-app \([0-9a-f]{12}\)/);
    expect(mayfly('inspect', 'shop-app').stdout).toContain('"com.example.team": "storefront"');
  });

  it('up -d starts in dependency order (healthy, completed, included), wires names; ps, port, logs; up again keeps', async () => {
    const up = compose('up', '-d');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/warning: service app: restart is ignored/);
    expect(up.stderr).toMatch(/Waiting for web to be healthy/);
    const order = ['Started shop-web-1', 'Started shop-migrate-1', 'Started shop-db-1', 'Started shop-app-1'].map((l) => up.stderr.indexOf(l));
    expect(order.every((i) => i >= 0), up.stderr).toBe(true);
    expect(order[3]).toBeGreaterThan(Math.max(order[0]!, order[1]!, order[2]!));
    expect(up.stderr).not.toMatch(/shop-debug-1/); // its profile is off

    const ps = compose('ps', '-a').stdout;
    expect(ps).toMatch(/shop-app-1\s+app\s+running\s+127\.0\.0\.1:(\d+)->8080\/tcp/);
    expect(ps).toMatch(/shop-migrate-1\s+migrate\s+exited \(0\)/);
    expect(compose('ps').stdout).not.toMatch(/shop-migrate-1/); // running ones only by default
    const port = compose('port', 'app', '8080');
    expect(port.status, port.stderr).toBe(0);
    expect(port.stdout).toMatch(/^127\.0\.0\.1:\d+\n$/);
    expect(await get(`http://${port.stdout.trim()}/`)).toBe('hello-compose\n');
    expect(compose('port', 'app', '9999').stderr).toMatch(/service app does not publish 9999\/tcp/);

    expect(compose('logs', 'migrate').stdout).toMatch(/migrate\s+\| migrated from common\.yaml/);
    expect(compose('logs', '--tail', '1', '-t', 'migrate').stdout).toMatch(/^migrate\s+\| \d{4}-\d\d-\d\dT[\d:.]+Z migrated from common\.yaml\n$/);
    await until(() => /db\s+\| db up as shop db/.test(compose('logs', 'db').stdout), 10_000, 'db output');

    const again = compose('up', '-d');
    expect(again.stderr).toMatch(/Running shop-web-1/);
    expect(again.stderr).not.toMatch(/Recreating/);
  });

  it('secrets and configs are in place, read-only, with their content and mode', () => {
    const r = compose(
      'exec',
      'app',
      'sh',
      '-c',
      'cat /run/secrets/db_password /run/secrets/token /etc/app.conf /motd; stat -c "%n %a %u" /run/secrets/* /etc/app.conf /motd; echo x > /run/secrets/db_password || echo read-only',
    );
    expect(r.status, r.stderr).toBe(0);
    // the variable's value exactly (no newline added), then the config's content
    expect(r.stdout).toContain('s3cret-pw\nt0ken-from-envlisten=8080\ngreeting=hello-compose\nwelcome\n');
    expect(r.stdout).toContain('/run/secrets/db_password 640 0\n'); // the file itself, bound as it is
    expect(r.stdout).toContain('/run/secrets/token 400 0\n');
    expect(r.stdout).toContain('/etc/app.conf 444 0\n');
    expect(r.stdout).toContain('/motd ');
    if (isRoot) expect(r.stdout).toContain('/run/secrets/owned 440 1000\n');
    expect(r.stdout).toMatch(/read-only\n$/);
  });

  it('an anonymous volume inside a bind mount keeps what the image has there', () => {
    const r = compose('exec', 'app', 'cat', '/srv/site/page.txt', '/srv/site/vendor/lib.txt');
    expect(r.stdout, r.stderr).toBe('from the host\nfrom-image\n');
  });

  it('exec passes the exit code, environment, user and working directory', () => {
    expect(compose('exec', 'app', 'sh', '-c', 'exit 3').status).toBe(3);
    const r = compose('exec', '-e', 'WHO=tester', '-u', '1000', '-w', '/srv', 'app', 'sh', '-c', 'echo "$WHO $(id -u) $(pwd)"');
    expect(r.stdout).toBe('tester 1000 /srv\n');
    expect(compose('exec', 'debug', 'true').stderr).toMatch(/service debug has no container/);
  });

  it('restart restarts a service and those that depend on it with restart: true', () => {
    const restart = compose('restart', 'web');
    expect(restart.status, restart.stderr).toBe(0);
    expect(restart.stderr).toMatch(/Restarted shop-web-1[\s\S]*Restarted shop-app-1/);
    expect(restart.stderr).not.toMatch(/shop-db-1/);
  });

  it('stop and start keep the containers (and run the hooks); kill', async () => {
    const stop = compose('stop');
    expect(stop.status, stop.stderr).toBe(0);
    expect(stop.stderr.indexOf('Stopped shop-app-1')).toBeLessThan(stop.stderr.indexOf('Stopped shop-web-1')); // dependents first
    expect(compose('ps').stdout.trim().split('\n')).toHaveLength(1);
    expect(compose('ps', '-a').stdout).toMatch(/shop-app-1\s+app\s+exited/);

    const start = compose('start', 'web', 'app');
    expect(start.status, start.stderr).toBe(0);
    expect(start.stderr.indexOf('Started shop-web-1')).toBeLessThan(start.stderr.indexOf('Started shop-app-1'));
    expect(await get(`http://${compose('port', 'app', '8080').stdout.trim()}/`)).toBe('hello-compose\n');
    expect(compose('up', '-d', 'db').stderr).toMatch(/Started shop-db-1/); // a stopped container of an unchanged service is started again
    // app went through: up, restart (with web), stop, start
    expect(compose('exec', 'app', 'cat', '/cache/hooks').stdout).toBe('started\nstopping\nstarted\nstopping\nstarted\n');
    await until(() => compose('exec', 'db', 'true').status === 0, 30_000, 'db running again');
    const kill = compose('kill', 'db');
    expect(kill.stderr).toMatch(/Killed shop-db-1/);
    let ps = '';
    await until(() => /shop-db-1\s+db\s+exited \(137\)/.test((ps = compose('ps', '-a').stdout)), 30_000, 'db killed').catch((e: Error) => {
      throw new Error(`${e.message}: ${kill.stderr}\n${ps}`);
    });
  });

  it('run: a one-off container on the project network with the service’s secrets, its exit code, --rm removes it', () => {
    const r = compose('run', '--rm', 'app', 'sh', '-c', 'wget -qO- http://web/; cat /run/secrets/db_password; echo "$GREETING-less"; exit 4');
    expect(r.status, r.stderr).toBe(4);
    expect(r.stdout).toBe('hello-compose\ns3cret-pw\n-less\n');
    expect(mayfly('ps', '-a').stdout).not.toMatch(/shop-app-run-/);

    const kept = compose('run', '-e', 'X=1', '--name', 'shop-once', '--no-deps', 'migrate', 'sh', '-c', 'echo "X=$X"');
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toBe('X=1\n');
    expect(mayfly('ps', '-a').stdout).toMatch(/shop-once/);
    expect(compose('ps', '-a').stdout).not.toMatch(/shop-once/); // not the service's container
  });

  it('a profile turns its services on', () => {
    const up = compose('--profile', 'debug', 'up', '-d');
    expect(up.status, up.stderr).toBe(0);
    expect(up.stderr).toMatch(/Started shop-debug-1/);
    expect(compose('ps', '--services').stdout).toMatch(/^debug$/m);
  });

  it('down removes every container (one-off ones too), the networks, the volumes and the files written for secrets', () => {
    const down = compose('down', '-v');
    expect(down.status, down.stderr).toBe(0);
    for (const n of ['shop-app-1', 'shop-web-1', 'shop-db-1', 'shop-debug-1', 'shop-once']) expect(down.stderr).toContain(`Removed ${n}`);
    expect(down.stderr).toMatch(/Removed network shop_default/);
    expect(down.stderr).toMatch(/Removed volume shop_cache/);
    expect(compose('ps', '-a').stdout.trim().split('\n')).toHaveLength(1);
    expect(mayfly('ps', '-a').stdout).not.toMatch(/shop-/);
    expect(existsSync(join(process.env.MAYFLY_HOME!, 'compose', 'shop'))).toBe(false);
  });
});

describe('mayfly compose: refusals', () => {
  it('a key mayfly cannot honour is refused by name with the reason; a typo is named', () => {
    const bad = projectDir({
      'compose.yaml': `
services:
  edge:
    image: x
    runtime: io.containerd.wasmedge.v1
    devices: ["/dev/net/tun"]
    network_mode: "container:vpn"
  vpn:
    image: x
    cap_add: [NET_ADMIN]
    sysctls: [net.ipv4.ip_forward=1]
`,
    });
    try {
      const r = spawnSync(process.execPath, [BIN, 'compose', 'config'], { cwd: bad, encoding: 'utf8' });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/service edge: runtime: io\.containerd\.wasmedge\.v1 is not mayfly’s/);
      expect(r.stderr).toMatch(/service edge: devices: device nodes cannot be created or handed to a container by a rootless runtime/);
      expect(r.stderr).toMatch(/service edge: network_mode: "container:vpn": sharing another container’s network namespace is not supported/);
      expect(r.stderr).not.toMatch(/cap_add/); // honoured now (capabilities within the container's user namespace)
      expect(r.stderr).toMatch(/service vpn: sysctls: /);
      writeFileSync(join(bad, 'compose.yaml'), 'services:\n  web:\n    image: x\n    ports: 80\n    restrat: always\n');
      const typo = spawnSync(process.execPath, [BIN, 'compose', 'up', '-d'], { cwd: bad, encoding: 'utf8' });
      expect(typo.status).toBe(125);
      expect(typo.stderr).toMatch(/services\.web\.ports/);
      expect(typo.stderr).toMatch(/services\.web: Unrecognized key: "restrat" \(did you mean restart\?\)/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it.skipIf(isRoot)('a secret owned by another uid is refused without root, naming it', () => {
    const d = projectDir({
      'compose.yaml': `services:\n  a:\n    image: ${IMAGE}\n    secrets: [{ source: s, uid: "999" }]\nsecrets:\n  s: { file: ./s.txt }\n`,
      's.txt': 'x',
    });
    try {
      const r = spawnSync(process.execPath, [BIN, 'compose', 'run', '--rm', 'a', 'true'], { cwd: d, encoding: 'utf8', env });
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/service a: secret s: uid\/gid 999:0 cannot be given without root/);
      expect(mayfly('ps', '-a').stdout).not.toMatch(/-a-run-/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

/** `compose up` in the foreground, as a user runs it: output as it comes, ended by signals. */
function foreground(cwd: string, ...args: string[]) {
  const child = spawn(process.execPath, [BIN, 'compose', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out, exit };
}

describe('mayfly compose up in the foreground', { timeout: 120_000 }, () => {
  let clock = '';
  const inClock = (...args: string[]) => spawnSync(process.execPath, [BIN, 'compose', ...args], { cwd: clock, encoding: 'utf8', timeout: 120_000, env });
  beforeAll(() => {
    clock = projectDir({
      'compose.yaml': `
name: clock
services:
  ticker:
    image: \${IMAGE}
    command: sh -c 'trap "echo ticker-bye; exit 0" TERM; i=0; while :; do echo "tick $$i"; i=$$((i+1)); sleep 0.2; done'
  quiet:
    image: \${IMAGE}
    init: true
    attach: false
    command: sh -c 'echo not-shown; exec sleep 3600'
  stubborn:
    image: \${IMAGE}
    profiles: [stubborn]
    stop_grace_period: 5m
    command: sh -c 'trap "" TERM; echo stubborn-up; while :; do sleep 1; done'
  server:
    image: \${IMAGE}
    init: true
    profiles: [ci]
    command: sh -c 'echo serving; exec sleep 3600'
  flaky:
    image: \${IMAGE}
    init: true
    profiles: [hooks]
    command: sleep 3600
    post_start:
      - command: sh -c 'echo no database >&2; exit 3'
  tests:
    image: \${IMAGE}
    profiles: [ci]
    depends_on: [server]
    command: sh -c 'echo testing; sleep 0.5; exit 7'
`,
    });
  });
  afterAll(() => {
    inClock('--profile', '*', 'down');
    rmSync(clock, { recursive: true, force: true });
  });

  it('streams the services’ output; Ctrl-C stops them gracefully and leaves them stopped; up starts them again', async () => {
    const up = foreground(clock, 'up');
    await until(() => /^ticker\s+\| tick 2$/m.test(up.out.stdout), 60_000, 'ticks');
    expect(up.out.stdout).not.toMatch(/not-shown/); // attach: false
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(130);
    expect(up.out.stderr).toContain('Gracefully stopping... (press Ctrl+C again to force)');
    expect(up.out.stdout).toMatch(/^ticker\s+\| ticker-bye$/m); // it got its stop signal and said goodbye
    expect(up.out.stderr).toMatch(/Stopped clock-ticker-1/);
    expect(up.out.stderr).toMatch(/Stopped clock-quiet-1/);
    const ps = inClock('ps', '-a').stdout;
    expect(ps).toMatch(/clock-ticker-1\s+ticker\s+exited \(0\)/);
    expect(ps).toMatch(/clock-quiet-1\s+quiet\s+exited/);
    const again = inClock('up', '-d');
    expect(again.stderr).toMatch(/Started clock-ticker-1/);
    inClock('down');
  });

  it('a second Ctrl-C kills what does not stop', async () => {
    const up = foreground(clock, '--profile', 'stubborn', 'up', 'stubborn');
    await until(() => /^stubborn\s+\| stubborn-up$/m.test(up.out.stdout), 60_000, 'stubborn');
    up.child.kill('SIGINT');
    await until(() => up.out.stderr.includes('Gracefully stopping'), 10_000, 'the graceful stop');
    await new Promise((r) => setTimeout(r, 300)); // it ignores SIGTERM: the grace period (5 min) runs
    up.child.kill('SIGINT');
    expect(await up.exit).toBe(130);
    expect(up.out.stderr).toMatch(/Killing\.\.\./);
    expect(inClock('ps', '-a').stdout).toMatch(/clock-stubborn-1\s+stubborn\s+exited \(137\)/);
    inClock('--profile', 'stubborn', 'down');
  });

  it('run in the foreground passes Ctrl-C on to its container and exits with its code; --rm removes it', async () => {
    const run = foreground(clock, 'run', '--rm', 'ticker', 'sh', '-c', 'trap "echo got-int; exit 5" INT; echo ready; while :; do sleep 0.2; done');
    await until(() => run.out.stdout.includes('ready\n'), 60_000, 'the one-off container');
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(5);
    expect(run.out.stdout).toBe('ready\ngot-int\n');
    expect(mayfly('ps', '-a').stdout).not.toMatch(/clock-ticker-run-/);
  });

  it('a failing post_start hook fails up, naming the service and the hook', () => {
    const r = inClock('--profile', 'hooks', 'up', '-d', 'flaky');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/service flaky: post_start\[0\] \(sh -c echo no database >&2; exit 3\) exited with 3: no database/);
    inClock('--profile', 'hooks', 'down');
  });

  it('--exit-code-from ends up when that service exits, stops the others and returns its code', async () => {
    const up = foreground(clock, '--profile', 'ci', 'up', '--exit-code-from', 'tests', 'tests');
    expect(await up.exit).toBe(7);
    expect(up.out.stdout).toMatch(/^tests\s+\| testing$/m);
    expect(up.out.stdout).toMatch(/^server\s+\| serving$/m);
    expect(up.out.stderr).toMatch(/clock-tests-1 exited with code 7/);
    expect(up.out.stderr).toMatch(/Aborting on container exit/);
    expect(up.out.stderr).toMatch(/Stopped clock-server-1/);
    inClock('--profile', 'ci', 'down');
  });
});
