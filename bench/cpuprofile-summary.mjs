// Where a V8 CPU profile (`node --cpu-prof`, or MAYFLY_SANDBOX_CPU_PROF for the sandbox) spent its
// time: idle / GC / busy, the functions with the most self time, and the most inclusive time of
// mayfly's own functions (by dist/ file) — the tables of bench/results/concurrent-attempts.md.
//   node bench/cpuprofile-summary.mjs FILE.cpuprofile [TOP=25] [FROM_MS]
// FROM_MS: only samples after that many ms from the profile's start (to leave a bench's set-up out);
// negative: only the last that many ms.
import { readFileSync } from 'node:fs';

const [file, topArg, fromArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpuprofile-summary.mjs FILE.cpuprofile [TOP] [FROM_MS]');
const TOP = Number(topArg ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8'));
const FROM_US = Number(fromArg ?? 0) >= 0 ? Number(fromArg ?? 0) * 1000 : p.endTime - p.startTime + Number(fromArg) * 1000;

const nodes = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

// each sample's duration: the delta to the next sample
const self = new Map();
const incl = new Map();
let t = p.startTime;
let total = 0;
for (let i = 0; i < p.samples.length; i++) {
  t += p.timeDeltas[i] ?? 0;
  const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
  if (t - p.startTime < FROM_US) continue;
  total += dt;
  const leaf = p.samples[i];
  self.set(leaf, (self.get(leaf) ?? 0) + dt);
  // inclusive: once per distinct function name along the stack (recursion counted once)
  const seen = new Set();
  for (let id = leaf; id !== undefined; id = parent.get(id)) {
    const key = name(nodes.get(id));
    if (seen.has(key)) continue;
    seen.add(key);
    incl.set(key, (incl.get(key) ?? 0) + dt);
  }
}
const selfByName = new Map();
for (const [id, ms] of self) {
  const key = name(nodes.get(id));
  selfByName.set(key, (selfByName.get(key) ?? 0) + ms);
}
const special = (k) => selfByName.get(k) ?? 0;
const idle = special('(idle)');
const gc = special('(garbage collector)');
const pct = (ms) => `${((100 * ms) / total).toFixed(1)} %`;
console.log(`${file}: ${total.toFixed(0)} ms sampled; idle ${idle.toFixed(0)} ms (${pct(idle)}), GC ${gc.toFixed(0)} ms (${pct(gc)}), busy ${(total - idle).toFixed(0)} ms`);
console.log(`\nself time, top ${TOP}:`);
for (const [k, ms] of [...selfByName].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${ms.toFixed(0).padStart(6)} ms ${pct(ms).padStart(7)}  ${k}`);
console.log(`\ninclusive time of mayfly's functions (dist/), top ${TOP}:`);
for (const [k, ms] of [...incl].filter(([k]) => k.includes('dist/')).sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${ms.toFixed(0).padStart(6)} ms ${pct(ms).padStart(7)}  ${k}`);
