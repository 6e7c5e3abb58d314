// mayfly as measured by the bench: its Runtime API in the bench's own process, and how its processes
// are told apart in /proc. A Runtime is one sandbox process (Node, under util-linux `unshare`); each
// running container adds the `unshare --fork --kill-child` that holds its namespaces, and the
// sandbox keeps one shim (Node) started ahead for the next container. Everything else below the
// sandbox is a container's own processes.
import { descendants, processTable } from '../scenarios/procfs.mjs';

const RUNTIME_PARTS = ['dist/runtime/sandbox/main.js', 'dist/runtime/shim/main.js'];

/** pids of the runtime's own processes and of its containers' processes, for the sandboxes this process started. */
export function mayflyProcesses(owner = process.pid) {
  const table = processTable();
  const roots = [...table].filter(([, p]) => p.ppid === owner && p.cmdline.includes(RUNTIME_PARTS[0])).map(([pid]) => pid);
  const runtime = [];
  const containers = [];
  for (const pid of descendants(roots, table)) {
    const cmd = table.get(pid).cmdline;
    (RUNTIME_PARTS.some((part) => cmd.includes(part)) ? runtime : containers).push(pid);
  }
  // a container's namespace holder: an `unshare … shim/main.js` whose child is no longer a shim
  const isShim = (pid) => table.get(pid)?.cmdline.includes(RUNTIME_PARTS[1]) && table.get(pid)?.comm !== 'unshare';
  const holders = runtime.filter((pid) => table.get(pid).comm === 'unshare' && table.get(pid).cmdline.includes(RUNTIME_PARTS[1]) && ![...table].some(([c, p]) => p.ppid === pid && isShim(c)));
  return { runtime, containers, holders };
}

export function mayflyConfig(rt) {
  const i = rt.info;
  return `mayfly (this checkout) through its Runtime API in the bench's Node process, as ${process.getuid() === 0 ? 'root' : `uid ${process.getuid()}`}; rootfs ${i.rootfsDriver}, cgroups ${i.cgroups}, network: own namespace per container, published ports forwarded by the sandbox`;
}
