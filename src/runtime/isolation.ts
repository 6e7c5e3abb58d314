/**
 * What a container may see and do beyond its namespaces, as plain data for its shim: the
 * capabilities it keeps, its seccomp filter, and the kernel interfaces hidden or made read-only —
 * Docker's defaults, lifted by `privileged` (and seccomp alone by `seccomp=unconfined`).
 */
import { readdirSync } from 'node:fs';
import { CAPABILITY_NUMBERS, resolveCapabilities } from '../model/capabilities.js';
import { seccompConfined, type ContainerSpec } from '../model/container-spec.js';
import { defaultFilter, seccompArch } from './seccomp/index.js';

/** Kernel files and directories that leak host information or expose hardware: hidden (Docker's list). */
export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

/**
 * Kernel interfaces that change the host when written: read-only. /proc/sys matters most — where
 * the container's root is the host's root (mayfly run as root), kernel.* sysctls such as
 * core_pattern would otherwise be writable from inside.
 */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

let thermal: string[] | undefined;

/** Per-CPU thermal_throttle directories (Docker masks them too); read once per process. */
function thermalThrottleDirs(): string[] {
  if (thermal) return thermal;
  try {
    thermal = readdirSync('/sys/devices/system/cpu', { withFileTypes: true })
      .filter((d) => /^cpu\d+$/.test(d.name))
      .flatMap((d) => {
        try {
          return readdirSync(`/sys/devices/system/cpu/${d.name}`).includes('thermal_throttle') ? [`/sys/devices/system/cpu/${d.name}/thermal_throttle`] : [];
        } catch {
          return [];
        }
      });
  } catch {
    thermal = [];
  }
  return thermal;
}

export interface Isolation {
  capabilities: number[];
  seccomp: number[] | null;
  maskedPaths: string[];
  readonlyPaths: string[];
}

/**
 * The isolation for `spec`. `onWarning` hears once that no filter exists for this architecture
 * (the container then runs without one, like Docker built without seccomp).
 */
export function isolationOf(spec: Pick<ContainerSpec, 'privileged' | 'capAdd' | 'capDrop' | 'securityOpt' | 'network'>, onWarning: (m: string) => void): Isolation {
  const caps = resolveCapabilities(spec);
  const arch = seccompArch();
  if (!arch && seccompConfined(spec)) onWarning(`no seccomp filter on ${process.arch}: mayfly has system call tables for x86_64 and aarch64 only`);
  const sys = spec.network === 'host' ? ['/sys'] : []; // the host's own /sys, bound in: read-only too
  return {
    capabilities: caps.map((c) => CAPABILITY_NUMBERS[c]),
    seccomp: arch && seccompConfined(spec) ? defaultFilter(arch, caps) : null,
    maskedPaths: spec.privileged ? [] : [...MASKED_PATHS, ...thermalThrottleDirs()],
    readonlyPaths: spec.privileged ? [] : [...READONLY_PATHS, ...sys],
  };
}
