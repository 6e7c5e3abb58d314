import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUSYBOX } from '../support/runtime.js';

const BIN = join(import.meta.dirname, '../../bin/mayfly.js');
const mayfly = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('mayfly network', () => {
  it('create, ls, inspect, run --network --network-alias, rm', () => {
    const name = `cli-net-${process.pid}`;
    const created = mayfly('network', 'create', '--label', 'team=qa', name);
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(mayfly('network', 'create', name).stderr).toContain('already exists');
    expect(mayfly('network', 'ls').stdout).toMatch(new RegExp(`^[0-9a-f]{12}\\s+${name}\\s+bridge\\s+local$`, 'm'));
    const [record] = JSON.parse(mayfly('network', 'inspect', name).stdout) as { Driver: string; IPAM: { Config: { Subnet: string }[] }; Labels: Record<string, string>; Containers: object }[];
    expect(record!.Labels).toEqual({ team: 'qa' });
    expect(record!.Driver).toBe('bridge');
    expect(record!.Containers).toEqual({});
    const subnet = record!.IPAM.Config[0]!.Subnet;

    const run = mayfly('run', '--rm', '--rootfs', BUSYBOX, '--name', `${name}-c`, '--network', name, '--network-alias', 'api', '--', 'sh', '-c', 'ls /sys/class/net; grep -c api /etc/hosts; true');
    expect(run.status).toBe(0);
    // (tap0 is slirp4netns's way out, where the machine allows it); its own names are on its own line, aliases are for its peers
    expect(run.stdout.split('\n').filter((l) => l !== 'tap0')).toEqual(['eth0', 'lo', '0', '']);
    expect(run.stderr).toMatch(new RegExp(`on network ${name} as ${subnet.replace('.0/24', '').replaceAll('.', '\\.')}\\.2 \\(eth0\\)`));

    expect(mayfly('run', '--rm', '--rootfs', BUSYBOX, '--network', 'nope', '--', 'true').stderr).toContain('network nope not found');
    expect(mayfly('network', 'rm', name).status).toBe(0);
    expect(mayfly('network', 'ls', '-q').stdout).not.toContain(name);
  });
});
