import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { outboundSupport } from '../../src/network/outbound.js';
import { describe, expect, it } from 'vitest';
import type { Container } from '../../src/engine/runtime.js';
import { BUSYBOX, caught, runToEnd, until, useRuntime } from '../support/runtime.js';

const { runtime, warnings } = useRuntime();
const DEBIAN = process.env.MAYFLY_TEST_DEBIAN!;

/** busybox httpd on port 80 answering with `body` */
function server(name: string, network: string, extra: Record<string, unknown> = {}): Promise<Container> {
  return runtime().run({
    name,
    layers: [BUSYBOX],
    network,
    command: ['sh', '-c', `mkdir -p /www && echo ${name}-says-hi > /www/index.html && exec httpd -f -p 80 -h /www`],
    ...extra,
  });
}

/** a one-shot Debian client (glibc resolves through /etc/hosts like real apps do); output and exit code */
async function client(script: string, extra: Record<string, unknown>): Promise<{ exitCode: number; out: string }> {
  return runToEnd(await runtime().create({ layers: [DEBIAN], command: ['bash', '-c', script], ...extra }));
}

/** GET / from host:80 with bash's /dev/tcp, retried while the server starts */
const httpGet = (host: string) =>
  `for i in $(seq 100); do exec 3<>/dev/tcp/${host}/80 && break; sleep 0.05; done; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3`;

const unique = (base: string) => `${base}-${process.pid}-${Math.random().toString(36).slice(2, 6)}`;

describe('user-defined networks', () => {
  it('an app reaches the database by name on a shared network; a container outside cannot', async () => {
    const net = unique('minha-bridge');
    const dbName = unique('meu-mongo');
    runtime().createNetwork(net);
    const db = await server(dbName, net, { networkAliases: ['database'] });
    try {
      const byName = await client(httpGet(dbName), { network: net });
      expect(byName.out).toContain(`${dbName}-says-hi`);
      const byAlias = await client(httpGet('database'), { network: net });
      expect(byAlias.out).toContain(`${dbName}-says-hi`);
      const byIp = await client(httpGet(db.ip()), { network: net });
      expect(byIp.out).toContain(`${dbName}-says-hi`);

      const outsider = await client(`getent hosts ${dbName} || echo unresolved; timeout 2 bash -c 'exec 3<>/dev/tcp/${db.ip()}/80' 2>/dev/null && echo reached || echo unreachable`, {});
      expect(outsider.out).toContain('unresolved');
      expect(outsider.out).toContain('unreachable');
    } finally {
      await db.remove({ force: true });
      runtime().removeNetwork(net);
    }
  });

  it('hosts files follow members that come and go; a container on two networks reaches both', async () => {
    const [a, b] = [unique('net-a'), unique('net-b')];
    runtime().createNetwork(a);
    runtime().createNetwork(b);
    const first = await server(unique('first'), a);
    try {
      const second = await server(unique('second'), b);
      const both = await server(unique('both'), a, { networks: [{ name: b, aliases: ['bridge-node'] }] });
      try {
        expect(both.networks().map((n) => [n.network, n.interface])).toEqual([[a, 'eth0'], [b, 'eth1']]);
        // first learns about the newcomer without a restart; second only sees b's members
        const firstHosts = (await first.exec(['cat', '/etc/hosts'])).stdout;
        expect(firstHosts).toContain(both.name);
        expect(firstHosts).not.toContain(second.name);
        const secondHosts = (await second.exec(['cat', '/etc/hosts'])).stdout;
        expect(secondHosts).toMatch(new RegExp(`${both.ip(b).replaceAll('.', '\\.')}\\s.*bridge-node`));
        expect(secondHosts).not.toContain(first.name);
        const fromBoth = await both.exec(['sh', '-c', `wget -qO- http://${first.ip()}/ && wget -qO- http://${second.ip()}/`]);
        expect(fromBoth.stdout).toContain(`${first.name}-says-hi`);
        expect(fromBoth.stdout).toContain(`${second.name}-says-hi`);
        // second cannot reach first: different networks
        const cross = await second.exec(['sh', '-c', `wget -T 2 -qO- http://${first.ip()}/ || echo unreachable`]);
        expect(cross.stdout).toContain('unreachable');
      } finally {
        await both.remove({ force: true });
        await second.remove({ force: true });
      }
      expect((await first.exec(['cat', '/etc/hosts'])).stdout).not.toContain('bridge-node');
    } finally {
      await first.remove({ force: true });
      runtime().removeNetwork(a);
      runtime().removeNetwork(b);
    }
  });

  it('a container restarted again and again on a network gets its interface each time (a dead namespace is torn down in the background)', async () => {
    const net = unique('restarts');
    runtime().createNetwork(net);
    const web = await server(unique('web'), net);
    try {
      for (let i = 0; i < 8; i++) {
        await web.restart({ timeout: 0 });
        expect(web.networks()[0]?.interface).toBe('eth0');
      }
      expect((await client(httpGet(web.ip()), { network: net })).out).toContain('says-hi');
    } finally {
      await web.remove({ force: true });
      runtime().removeNetwork(net);
    }
  });

  it('published ports work for containers on a network', async () => {
    const net = unique('pub');
    runtime().createNetwork(net);
    const web = await server(unique('web'), net, { ports: [{ containerPort: 80 }] });
    try {
      let body = '';
      for (let i = 0; i < 200 && !body; i++) body = await fetch(web.url(80)).then((r) => r.text(), () => '');
      expect(body).toContain('says-hi');
    } finally {
      await web.remove({ force: true });
      runtime().removeNetwork(net);
    }
  });

  it("Docker's default bridge, one container after another (the next finds its namespace wired ahead): own addresses, reachable by them and on published ports", async () => {
    // the spare namespace's slirp4netns (where this user may run one) names the spare's pinned file;
    // ours is below this process (another worker's sandbox may share the home)
    const read = (path: string) => {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return '';
      }
    };
    const ours = (pid: string): boolean => {
      for (let p = pid, i = 0; p && p !== '0' && p !== '1' && i < 20; i++) {
        if (p === String(process.pid)) return true;
        p = /\) \S+ (\d+)/.exec(read(`/proc/${p}/stat`))?.[1] ?? '';
      }
      return false;
    };
    // one per spare: slirp4netns forks a short-lived child with its own command line while it sets
    // up the namespace's tap device, which a plain count took for another spare
    const spareSlirps = () => [
      ...new Set(
        readdirSync('/proc')
          .filter((d) => /^\d+$/.test(d))
          .map((d) => ({ d, c: read(`/proc/${d}/cmdline`) }))
          .filter(({ d, c }) => c.split('\0')[0]!.endsWith('slirp4netns') && c.includes('/spares/spare') && ours(d))
          .map(({ c }) => c),
      ),
    ];
    const outbound = outboundSupport().usable;
    const webs: Container[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const before = spareSlirps();
        const web = await server(unique(`b${i}`), 'bridge', { ports: [{ containerPort: 80 }] });
        webs.push(web);
        let body = '';
        for (let j = 0; j < 200 && !body; j++) body = await fetch(web.url(80)).then((r) => r.text(), () => '');
        expect(body).toContain('says-hi');
        if (outbound) {
          // the first wired its own; each next one took the spare (its slirp4netns, named by the
          // spare's file, now the container's), and a new spare is made after each start
          expect(before).toHaveLength(i);
          await until(() => spareSlirps().length === i + 1, 15_000, `spare namespace ${i + 1}`);
          expect(spareSlirps()).toEqual(expect.arrayContaining(before));
        }
      }
      const ips = webs.map((w) => w.ip());
      expect(new Set(ips).size).toBe(3);
      expect((await client(httpGet(ips[0]!), { network: 'bridge' })).out).toContain('says-hi');
      expect((await client(httpGet(ips[2]!), { network: 'bridge' })).out).toContain('says-hi');
    } finally {
      await Promise.all(webs.map((w) => w.remove({ force: true })));
    }
  });

  it('outbound: the host loopback is out of reach by default; host-gateway opens it as host.mayfly.internal (not on internal networks)', async () => {
    const server = createServer((s) => s.end('hello from the host\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const [open, internal] = [unique('out'), unique('internal')];
    runtime().createNetwork(open);
    runtime().createNetwork({ name: internal, internal: true });
    const probe = `timeout 1 bash -c 'exec 3<>/dev/tcp/host.mayfly.internal/${port}; cat <&3' 2>&1 || echo no-way-out`;
    const byIp = `timeout 1 bash -c 'exec 3<>/dev/tcp/10.0.2.2/${port}; cat <&3' 2>&1 || echo no-way-out`;
    const gateway = { extraHosts: [{ name: 'dev-host', ip: 'host-gateway' }] };
    try {
      const byDefault = await client(`${probe}; ${byIp}`, { network: open });
      expect(byDefault.out).not.toContain('hello from the host');
      const fromInternal = await caught(client(probe, { network: internal, ...gateway }));
      expect(fromInternal.message).toMatch(/host-gateway needs a network with outbound access \(its networks are internal\)/);
      const support = outboundSupport();
      if (support.usable) {
        expect((await client(probe, { network: open, ...gateway })).out).toContain('hello from the host');
      } else {
        // the machine refuses a user-mode network stack to this user: said clearly
        expect((await caught(client(probe, { network: open, ...gateway }))).message).toContain(support.reason);
        expect(warnings.join('\n')).toContain(support.fix);
      }
    } finally {
      server.close();
      runtime().removeNetwork(open);
      runtime().removeNetwork(internal);
    }
  });

  it('none has only loopback; host sees the host interfaces', async () => {
    const ifaces = (text: string) => text.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
    const none = await client('cat /proc/net/dev', { network: 'none' });
    expect(ifaces(none.out)).toEqual(['lo']);
    const host = await client('cat /proc/net/dev', { network: 'host' });
    expect(ifaces(host.out)).toEqual(ifaces(readFileSync('/proc/net/dev', 'utf8')));
  });

  it('clear errors: unknown network, name taken, removal while in use', async () => {
    expect((await caught(runtime().create({ layers: [BUSYBOX], command: ['true'], network: 'no-such-net' }))).code).toBe('NETWORK_NOT_FOUND');
    const net = unique('busy');
    runtime().createNetwork(net);
    expect(() => runtime().createNetwork(net)).toThrow(/already exists/);
    expect(() => runtime().createNetwork('host')).toThrow(/built in/);
    const c = await server(unique('holder'), net);
    try {
      expect(() => runtime().removeNetwork(net)).toThrow(/in use by/);
    } finally {
      await c.remove({ force: true });
    }
    runtime().removeNetwork(net);
    expect(runtime().networks().map((n) => n.name)).not.toContain(net);
    expect((await caught(runtime().create({ layers: [BUSYBOX], command: ['true'], network: 'host', networkAliases: ['x'] }))).message).toMatch(/networkAliases/);
  });
});
