/** CPU limits become CFS bandwidth: a quota of CPU time per period, in microseconds. */

/** 100 ms, the kernel's and Docker's default period */
export const CPU_PERIOD_US = 100_000;

/** the kernel refuses quotas under 1 ms */
const MIN_QUOTA_US = 1_000;

/** `cpus` = 1.5 → 150000 µs of CPU time every 100000 µs. */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(MIN_QUOTA_US, Math.round(cpus * CPU_PERIOD_US));
}
