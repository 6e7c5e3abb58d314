/**
 * User-defined networks as one sandbox makes them: per network a namespace holding a bridge; per
 * container and network a veth pair whose inner end (eth0, eth1, …) sits in the container's own
 * namespace. Containers find each other by name through their /etc/hosts, which this module
 * rewrites whenever a member comes or goes — Docker's embedded DNS without a DNS server.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MayflyError } from '../core/errors.js';
import type { NetworkRecord } from './network-store.js';
import { createNetns, ipIn, removeNetns } from './netns.js';
import type { Attachment } from '../model/container-types.js';

export interface Membership {
  network: NetworkRecord;
  aliases: string[];
}

export interface MemberInfo {
  id: string;
  name: string;
  hostname: string;
  /** called with the hosts lines of the other members whenever they change */
  onPeersChanged(lines: string[]): void;
}

interface Member extends MemberInfo {
  ip: string;
  aliases: string[];
  /** the bridge's end of its veth */
  veth: string;
}

const BRIDGE = 'br0';

/**
 * The bridge's end of a container's veth: unique in the bridge's namespace, at most 15 characters,
 * and new at each connection (`n`): the kernel tears a dead namespace down in the background, so
 * the bridge's end of a stopped container's veth may outlive its stop for a moment.
 */
function vethName(id: string, n: number, ifname: string): string {
  return `v${id.slice(0, 10)}${(n % 36).toString(36)}${ifname.replace(/^eth/, '')}`;
}

class Bridge {
  readonly members = new Map<string, Member>();
  private up: Promise<void> | undefined;
  readonly netns: string;

  constructor(
    readonly record: NetworkRecord,
    private readonly dir: string,
  ) {
    this.netns = join(dir, 'netns');
  }

  ensureUp(): Promise<void> {
    this.up ??= (async () => {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      await createNetns(this.netns, ['link set lo up', `link add ${BRIDGE} type bridge`, `addr add ${this.record.gateway}/24 dev ${BRIDGE}`, `link set ${BRIDGE} up`]);
    })().catch((e: unknown) => {
      this.up = undefined;
      removeNetns(this.netns);
      throw e;
    });
    return this.up;
  }

  private next = 2;

  /**
   * The next free address of the /24 (.1 is the bridge), going round as Docker's allocator does: an
   * address just given up is not handed out again at once, while its peers' ARP caches still know
   * the old interface behind it.
   */
  allocate(): string {
    const prefix = this.record.gateway.slice(0, this.record.gateway.lastIndexOf('.'));
    const taken = new Set([...this.members.values()].map((m) => m.ip));
    for (let i = 0; i < 253; i++) {
      const host = ((this.next - 2 + i) % 253) + 2;
      if (taken.has(`${prefix}.${host}`)) continue;
      this.next = host + 1;
      return `${prefix}.${host}`;
    }
    throw new MayflyError('NETWORK_FAILED', `network ${this.record.name} has no free address left (253 containers)`);
  }

  close(): void {
    removeNetns(this.netns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Something a wired namespace holds that must end with it (its slirp4netns). */
export interface Closeable {
  close(): void;
}

/** A namespace wired to the default bridge before any container asked for it (see `takeSpare`). */
export interface SpareNetns {
  /** where it is pinned */
  netns: string;
  attachments: Attachment[];
  outbound: Closeable | undefined;
}

interface Spare extends SpareNetns {
  key: string;
  record: NetworkRecord;
}

export class SandboxNetworks {
  private readonly bridges = new Map<string, Bridge>();
  /** how many times each container was connected: its veths get new names each time */
  private readonly starts = new Map<string, number>();
  private spare: Spare | undefined;
  /** the spare being wired, until it is ready or gone */
  private refilling: Promise<void> | undefined;
  private spares = 0;
  private closed = false;

  constructor(private readonly runDir: string) {}

  /**
   * Makes the container's namespace (pinned at `netns`) with a veth into each network — the first
   * carrying its default route unless outbound traffic has its own way out — and tells every member
   * of those networks about it. Two `ip` runs for one network: inside the new namespace (made by the
   * same process), then on the bridge's side. `alongside` (outbound access, say) needs only the
   * namespace: it runs while the bridges take their ends, each start's wiring costs the longer of
   * the two, not their sum; it is settled, failed or not, before this returns or throws.
   */
  async connect(member: MemberInfo, netns: string, memberships: Membership[], opts: { defaultRoute: boolean; loopbackAddress?: string; alongside?: () => Promise<void> }): Promise<Attachment[]> {
    const attachments: Attachment[] = [];
    const enslave: Promise<void>[] = [];
    try {
      const inside = ['link set lo up', ...(opts.loopbackAddress ? [`addr add ${opts.loopbackAddress}/32 dev lo`] : [])];
      const outside: { bridge: Bridge; veth: string }[] = [];
      // The kernel tears a dead namespace down in the background: the bridge's end of a stopped
      // container's veth may outlive its stop for a moment, so a restart must not reuse its name.
      const start = (this.starts.get(member.id) ?? 0) + 1;
      this.starts.set(member.id, start);
      for (const [i, m] of memberships.entries()) {
        const bridge = this.bridgeFor(m.network);
        await bridge.ensureUp();
        const ip = bridge.allocate();
        const ifname = `eth${i}`;
        const veth = vethName(member.id, start, ifname);
        bridge.members.set(member.id, { ...member, ip, aliases: m.aliases, veth });
        attachments.push({ network: m.network.name, ip, gateway: m.network.gateway, interface: ifname, aliases: m.aliases });
        inside.push(`link add ${ifname} type veth peer name ${veth} netns ${bridge.netns}`, `addr add ${ip}/24 dev ${ifname}`, `link set ${ifname} up`);
        if (i === 0 && opts.defaultRoute) inside.push(`route add default via ${m.network.gateway}`);
        outside.push({ bridge, veth });
      }
      await createNetns(netns, inside);
      enslave.push(...outside.map(({ bridge, veth }) => ipIn(bridge.netns, [`link set ${veth} master ${BRIDGE}`, `link set ${veth} up`])));
      if (opts.alongside) enslave.push(opts.alongside());
      const failed = (await Promise.allSettled(enslave)).find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    } catch (e) {
      await Promise.allSettled(enslave);
      this.disconnect(member.id);
      throw e;
    }
    this.announce(memberships.map((m) => m.network.name));
    return attachments;
  }

  /**
   * `docker network connect` on a running container: a veth from its namespace (`netns`: a pinned
   * file or /proc/PID/ns/net) into the network's bridge, named `ifname` inside.
   */
  async attach(member: MemberInfo, netns: string, m: Membership, ifname: string): Promise<Attachment> {
    const bridge = this.bridgeFor(m.network);
    if (bridge.members.has(member.id)) throw new MayflyError('NETWORK_EXISTS', `container ${member.name} is already on network ${m.network.name}`);
    await bridge.ensureUp();
    const ip = bridge.allocate();
    const n = (this.starts.get(member.id) ?? 0) + 1;
    this.starts.set(member.id, n);
    const veth = vethName(member.id, n, ifname);
    bridge.members.set(member.id, { ...member, ip, aliases: m.aliases, veth });
    try {
      await ipIn(netns, [`link add ${ifname} type veth peer name ${veth} netns ${bridge.netns}`, `addr add ${ip}/24 dev ${ifname}`, `link set ${ifname} up`]);
      await ipIn(bridge.netns, [`link set ${veth} master ${BRIDGE}`, `link set ${veth} up`]);
    } catch (e) {
      bridge.members.delete(member.id);
      await ipIn(bridge.netns, [`link del ${veth}`]).catch(() => {});
      throw e;
    }
    this.announce([m.network.name]);
    return { network: m.network.name, ip, gateway: m.network.gateway, interface: ifname, aliases: m.aliases };
  }

  /** `docker network disconnect` on a running container: its veth on that network goes. */
  async detach(id: string, network: string): Promise<void> {
    const bridge = this.bridges.get(network);
    const member = bridge?.members.get(id);
    if (!bridge || !member) return;
    bridge.members.delete(id);
    await ipIn(bridge.netns, [`link del ${member.veth}`]).catch(() => {});
    this.announce([network]);
  }

  /** Forgets the container (its veths went with its namespace) and updates the others' hosts files. */
  disconnect(id: string): void {
    const changed: string[] = [];
    for (const [name, bridge] of this.bridges) if (bridge.members.delete(id)) changed.push(name);
    this.announce(changed);
  }

  /** hosts lines naming the other members of every network `id` is on */
  peersOf(id: string): string[] {
    const lines: string[] = [];
    for (const bridge of this.bridges.values()) {
      // Docker's default bridge gives no names: its members reach each other by address
      if (!bridge.members.has(id) || bridge.record.builtin) continue;
      for (const m of bridge.members.values()) {
        if (m.id === id) continue;
        const names = [...new Set([m.name, ...m.aliases, m.hostname, m.id.slice(0, 12)])];
        lines.push(`${m.ip}\t${names.join(' ')}`);
      }
    }
    return lines;
  }

  /**
   * The namespace wired ahead on `record` (the default bridge), now `member`'s: its address and
   * veth become the member's. Wiring a namespace takes three processes (`ip` inside, `ip` on the
   * bridge's side, slirp4netns), which on a busy machine is most of a container's start; Docker's
   * clients put every container on that bridge. One being wired is waited for: it started before
   * this start and is nearer its end than a new one would be. Undefined when there is none.
   */
  async takeSpare(member: MemberInfo, record: NetworkRecord): Promise<SpareNetns | undefined> {
    if (!this.spare) await this.refilling;
    const s = this.spare;
    const bridge = this.bridges.get(record.name);
    const m = bridge?.members.get(s?.key ?? '');
    if (!s || !bridge || !m || s.record.id !== record.id || bridge.record.id !== record.id) return undefined;
    this.spare = undefined;
    bridge.members.delete(s.key);
    bridge.members.set(member.id, { ...member, ip: m.ip, aliases: [], veth: m.veth });
    this.announce([record.name]);
    return { netns: s.netns, attachments: s.attachments, outbound: s.outbound };
  }

  /**
   * Wires the next spare namespace on `record` in the background, unless one is ready or on its
   * way. Called after a start, not during it: the wiring would slow that start down. A failure
   * costs nothing but the spare: the next start wires its own, as without one.
   */
  refillSpare(record: NetworkRecord, opts: { defaultRoute: boolean; outbound?: (netns: string) => Promise<Closeable> }): void {
    if (this.spare || this.refilling || this.closed) return;
    const key = `spare${(++this.spares).toString(36)}`;
    const dir = join(this.runDir, 'spares');
    const netns = join(dir, key);
    let outbound: Closeable | undefined;
    const dispose = () => {
      outbound?.close();
      removeNetns(netns);
    };
    this.refilling = (async () => {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const make = opts.outbound;
      const attachments = await this.connect({ id: key, name: key, hostname: key, onPeersChanged: () => {} }, netns, [{ network: record, aliases: [] }], {
        defaultRoute: opts.defaultRoute,
        ...(make ? { alongside: async () => void (outbound = await make(netns)) } : {}),
      });
      if (this.closed) {
        this.disconnect(key);
        dispose();
      } else this.spare = { key, record, netns, attachments, outbound };
    })()
      .catch(dispose)
      .finally(() => (this.refilling = undefined));
  }

  /** Settles when no spare is being wired: before close(), whose clean-up must find it made or gone. */
  async idle(): Promise<void> {
    await this.refilling;
  }

  close(): void {
    this.closed = true;
    if (this.spare) {
      this.spare.outbound?.close();
      removeNetns(this.spare.netns);
      this.spare = undefined;
    }
    for (const b of this.bridges.values()) b.close();
    this.bridges.clear();
    rmSync(this.runDir, { recursive: true, force: true });
  }

  private bridgeFor(record: NetworkRecord): Bridge {
    let b = this.bridges.get(record.name);
    // a record removed and made again under the same name is another network
    if (b && b.record.id !== record.id) {
      if (b.members.size) throw new MayflyError('NETWORK_IN_USE', `network ${record.name} was re-created while containers of this process still use the old one`);
      b.close();
      b = undefined;
    }
    if (!b) {
      b = new Bridge(record, join(this.runDir, record.id));
      this.bridges.set(record.name, b);
    }
    return b;
  }

  private announce(networks: string[]): void {
    const ids = new Set(networks.flatMap((n) => [...(this.bridges.get(n)?.members.keys() ?? [])]));
    for (const id of ids) {
      const m = [...this.bridges.values()].map((b) => b.members.get(id)).find((x) => x);
      m?.onPeersChanged(this.peersOf(id));
    }
  }
}
