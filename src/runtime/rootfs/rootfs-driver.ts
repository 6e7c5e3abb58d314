/**
 * A container's root filesystem, made from read-only layers (bottom first) plus a writable part of
 * its own — containerd's snapshotter, cut down to what a throwaway container needs:
 *
 *   prepare  at create: the directories the driver needs (upper/work dirs, or a copy of the layers)
 *   mount    before each start, in the sandbox: what the sandbox mounts itself (fuse-overlayfs), and
 *            the rootfs part of the shim's plan (the shim mounts kernel overlay in the container's
 *            own mount namespace)
 *   unmount  after each exit
 *   diff     the container's changes in overlay format (whiteouts, opaque directories): what
 *            `commit` and a Dockerfile RUN step turn into a layer
 *   remove   before the container's directory goes
 *
 * One test suite runs against every driver (test/runtime/rootfs-drivers.test.ts).
 */
import type { StartPlan } from '../shim/plan.js';

export type RootfsDriverName = 'overlay' | 'overlay-tmpfs' | 'fuse-overlayfs' | 'copy';

/** The container a driver works for: its own directory and its layers. */
export interface RootfsOwner {
  dir: string;
  layers: readonly string[];
}

export interface RootfsMount {
  /** the rootfs part of the shim's start plan */
  plan: StartPlan['rootfs'];
  /** the shim must be started after the mount, so that its mount namespace inherits it */
  freshShim: boolean;
}

export interface RootfsDiff {
  /** a directory in overlay format */
  dir: string;
  /** true: a fresh directory the caller owns and may move away; false: the container's own, to be copied */
  owned: boolean;
}

export interface RootfsDriver {
  readonly name: RootfsDriverName;
  prepare(c: RootfsOwner): Promise<void>;
  mount(c: RootfsOwner): Promise<RootfsMount>;
  unmount(c: RootfsOwner): Promise<void>;
  diff(c: RootfsOwner): Promise<RootfsDiff>;
  remove(c: RootfsOwner): Promise<void>;
}
