/** What every layer says about a running container: its ports, networks, exec results, stats, exit. */

export interface PortMapping {
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  /** 0: any free port (picked by the kernel when the listener binds: no race with other processes) */
  hostPort: number;
}

/** A port as published: `hostPort` is the real one. */
export interface PublishedPort extends PortMapping {
  hostPort: number;
}

/** A container's place on a user-defined network. */
export interface Attachment {
  network: string;
  ip: string;
  gateway: string;
  interface: string;
  aliases: string[];
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved in the order their chunks arrived (Docker's attached output) */
  output?: string;
}

export interface ContainerStats {
  /** CPU time used, nanoseconds */
  cpuNs?: number;
  /** memory in use, bytes */
  memoryBytes?: number;
  /** memory limit in bytes, when one is set */
  memoryLimit?: number;
  pids?: number;
  /** where the numbers come from: the container's cgroup, or /proc of its processes */
  source: 'cgroup' | 'proc';
}

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
}
