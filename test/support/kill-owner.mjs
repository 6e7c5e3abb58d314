#!/usr/bin/env node
// An owner process for the kill tests (test/reliability/kills.test.ts): starts a runtime and does
// one kind of work over and over, saying what it reached on stdout, until it is killed.
//   node kill-owner.mjs pull|build|start|exec|stop|save-load '{"ref":…}'
import { join } from 'node:path';

const dist = join(import.meta.dirname, '../../dist');
const { Runtime } = await import(join(dist, 'engine/runtime.js'));
const [scenario, json = '{}'] = process.argv.slice(2);
const a = JSON.parse(json);
const say = (line) => process.stdout.write(`${line}\n`);
const rt = await Runtime.start({ onWarning: () => {} });
const sleeper = () => ({ layers: [a.busybox], command: ['sleep', '100'], ports: [{ containerPort: 80 }], ...(a.limits ? { limits: a.limits } : {}) });
const published = (c) => say(`ports:${c.ports().map((p) => p.hostPort).join(',')}`);
say('ready');

const work = {
  async pull() {
    await rt.pull(a.ref, { onProgress: (p) => p.phase === 'extracting' && say('extracting') });
    say('pulled');
    await rt.rmi(a.ref, { force: true });
    await rt.prune();
  },
  async build() {
    await rt.build({ context: a.context, tag: a.tag });
    say('built');
    await rt.rmi(a.tag, { force: true });
    await rt.prune();
  },
  async start() {
    const c = await rt.run(sleeper());
    published(c);
    await c.remove({ force: true });
  },
  async exec() {
    work.c ??= await rt.run(sleeper());
    published(work.c);
    await work.c.exec(['sh', '-c', 'echo hi; ls / > /dev/null']);
    say('exec');
  },
  async stop() {
    const c = await rt.run({ ...sleeper(), command: ['sh', '-c', 'trap "sleep 0.2; exit 3" TERM; while :; do sleep 0.05; done'] });
    published(c);
    await c.stop({ timeout: 1 });
    await c.remove();
    say('stopped');
  },
  async 'save-load'() {
    // another scenario's kill may have left the image out of the store
    try {
      rt.inspect(a.ref);
    } catch {
      await rt.pull(a.ref);
    }
    await rt.save(a.ref, a.file);
    say('saved');
    await rt.rmi(a.ref, { force: true });
    await rt.load(a.file);
    say('loaded');
  },
};

if (!work[scenario]) throw new Error(`unknown scenario ${scenario}`);
for (;;) await work[scenario]();
