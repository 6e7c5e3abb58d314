/**
 * Bad input, generated (fast-check): Dockerfiles, compose files, image references, -p/-v/--tmpfs/
 * --add-host specs, `mayfly run` command lines, manifests and indexes (from a registry and from an
 * archive), and layer tars (truncated, huge claimed sizes, 10,000-deep paths, long names, PAX
 * oddities). Whatever comes in: a result, or a MayflyError with a code and a message that names
 * the input — never another exception, a hang, or a file written outside where it belongs.
 * MAYFLY_RELIABILITY_RUNS sets the runs per property (more in `npm run reliability`).
 */
import { createServer, type Server } from 'node:http';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMayflyError } from '../../src/core/errors.js';
import { parseCommandLine } from '../../src/cli/command-line/parse.js';
import { ROOT } from '../../src/cli/commands.js';
import { containerOptions } from '../../src/cli/run-command.js';
import { loadComposeProject } from '../../src/compose/compose-file.js';
import { servicePlan } from '../../src/compose/service-options.js';
import { parseDockerfile } from '../../src/dockerfile/dockerfile/parse.js';
import { importArchive } from '../../src/image/archive/import-archive.js';
import { extractLayer } from '../../src/image/layer/extract-layer.js';
import { parseReference } from '../../src/image/reference.js';
import { RegistryClient } from '../../src/image/registry/index.js';
import { parseIndexDocument, parseManifestDocument } from '../../src/image/registry/documents.js';
import { ImageStore } from '../../src/image/store/image-store.js';
import { parseContainerSpec } from '../../src/model/container-spec.js';
import { parseAddHostFlag, parsePortFlag, parseTmpfsFlag, parseVolumeFlag } from '../../src/model/docker-flags.js';
import { record } from '../support/reliability-log.js';
import { archive, entryBytes, paxHeader, tarHeader, type TarEntry } from '../support/tar-bytes.js';

const RUNS = Number(process.env.MAYFLY_RELIABILITY_RUNS ?? 100);
const scratch = mkdtempSync(join(process.env.MAYFLY_TEST_TMP_BASE!, 'bad-input-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let tried = 0;
/**
 * Runs `fn` on one input: a result passes; a MayflyError passes when it has a code and its message
 * names the input (`names` says how); anything else fails the property.
 */
function refusesCleanly<T>(fn: () => T, names: (message: string) => boolean = () => true): void {
  tried++;
  try {
    fn();
  } catch (e) {
    if (!isMayflyError(e)) throw new Error(`not a MayflyError: ${(e as Error)?.stack ?? String(e)}`);
    expect(e.code).toMatch(/^[A-Z_]+$/);
    expect(e.message.length).toBeGreaterThan(0);
    if (!names(e.message)) throw new Error(`the message does not name the input: ${e.message}`);
  }
}

async function refusesCleanlyAsync(fn: () => Promise<unknown>, names: (message: string) => boolean = () => true): Promise<void> {
  tried++;
  try {
    await fn();
  } catch (e) {
    if (!isMayflyError(e)) throw new Error(`not a MayflyError: ${(e as Error)?.stack ?? String(e)}`);
    expect(e.code).toMatch(/^[A-Z_]+$/);
    if (!names(e.message)) throw new Error(`the message does not name the input: ${e.message}`);
  }
}

afterAll(() => record('inputs', 'generated bad inputs', tried));

const opts = { numRuns: RUNS };
/** text with the characters that matter to parsers */
const noisy = fc.string({ unit: fc.constantFrom(...'abcAZ09 _-./:@=\\"\'$#{}[],\n\t\r\u00e9\u0000'.split('')), maxLength: 80 });

describe('text and flags', () => {
  it('image references', () => {
    fc.assert(
      fc.property(fc.oneof(noisy, fc.string(), fc.constantFrom('', ':', '@', 'a@sha256:', 'A/b', 'x'.repeat(300), 'host:99999/x', '[::1]/x')), (text) =>
        refusesCleanly(() => parseReference(text), (m) => m.includes(text.slice(0, 20)) || m.includes(JSON.stringify(text).slice(1, 20))),
      ),
      opts,
    );
  });

  it('-p, -v, --tmpfs and --add-host specs, then the container spec they make', () => {
    const spec = (extra: Record<string, unknown>) => parseContainerSpec({ layers: ['/'], command: ['true'], ...extra });
    fc.assert(
      fc.property(noisy, (text) => {
        refusesCleanly(() => spec({ ports: [parsePortFlag(text)] }), (m) => m.includes('-p') || m.includes('ports'));
        refusesCleanly(() => {
          const v = parseVolumeFlag(text);
          spec('bind' in v ? { binds: [v.bind] } : { volumes: [v.volume] });
        }, (m) => m.includes('-v') || m.includes('binds') || m.includes('volumes'));
        refusesCleanly(() => spec({ tmpfs: [parseTmpfsFlag(text)] }), (m) => m.includes('--tmpfs') || m.includes('tmpfs'));
        refusesCleanly(() => spec({ network: 'x', extraHosts: [parseAddHostFlag(text)] }), (m) => m.includes('--add-host') || m.includes('extraHosts'));
      }),
      opts,
    );
  });

  it('mayfly run command lines', () => {
    const RUN = ROOT.subcommands!.find((c) => c.name === 'run')!;
    const flag = fc.constantFrom('-p', '-v', '--tmpfs', '-e', '-u', '-w', '-m', '--cpus', '--pids-limit', '--cap-add', '--cap-drop', '--security-opt', '--add-host', '--network', '--name', '--stop-timeout', '--privileged', '-d', '--rootfs', '--no-such-flag', '--');
    const argv = fc.array(fc.oneof(flag, noisy), { maxLength: 12 });
    fc.assert(
      fc.property(argv, (args) =>
        refusesCleanly(() => {
          const parsed = parseCommandLine(RUN, ['run'], args);
          if (parsed.help) return;
          const spec = containerOptions(parsed.flags, parsed.args, 'run');
          if (!spec.image) parseContainerSpec({ ...spec, layers: spec.layers ?? ['/'], command: spec.command?.length ? spec.command : ['true'] });
        }),
      ),
      opts,
    );
  });

  it('Dockerfiles: errors name their line', () => {
    const instruction = fc.constantFrom('FROM', 'RUN', 'COPY', 'ADD', 'ENV', 'ARG', 'WORKDIR', 'USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'LABEL', 'VOLUME', 'HEALTHCHECK', 'STOPSIGNAL', 'ONBUILD', 'from', '#', '');
    const line = fc.tuple(instruction, noisy).map(([i, rest]) => `${i} ${rest}`);
    const dockerfile = fc.array(line, { maxLength: 12 }).map((ls) => ls.join('\n'));
    fc.assert(fc.property(fc.oneof(dockerfile, noisy), (text) => refusesCleanly(() => parseDockerfile(text), (m) => /line \d+|no FROM|quote/.test(m))), opts);
  });

  it('compose files: errors name the file, the service or the key', () => {
    const dir = mkdtempSync(join(scratch, 'compose-'));
    const file = join(dir, 'compose.yaml');
    const value = fc.oneof(noisy, fc.integer(), fc.boolean(), fc.constant(null), fc.array(noisy, { maxLength: 3 }), fc.dictionary(noisy, noisy, { maxKeys: 3 }));
    const key = fc.constantFrom('image', 'build', 'command', 'entrypoint', 'environment', 'ports', 'volumes', 'tmpfs', 'depends_on', 'networks', 'healthcheck', 'user', 'cap_add', 'security_opt', 'extra_hosts', 'privileged', 'mem_limit', 'stop_grace_period', 'bogus');
    const service = fc.dictionary(key, value, { maxKeys: 5 });
    const doc = fc.record({ services: fc.dictionary(fc.oneof(fc.constantFrom('web', 'db'), noisy), service, { maxKeys: 3 }) });
    fc.assert(
      fc.property(fc.oneof(doc.map((d) => JSON.stringify(d)), noisy), (text) => {
        writeFileSync(file, text);
        refusesCleanly(() => {
          const p = loadComposeProject({ cwd: dir, files: [file], projectName: 'fuzz' });
          for (const s of Object.keys(p.content.services)) {
            const plan = servicePlan(p, s);
            parseContainerSpec({ ...plan.options, layers: ['/'], command: plan.options.command?.length ? plan.options.command : ['true'] });
          }
        }, (m) => m.includes(file) || /service|container options|compose/.test(m));
      }),
      opts,
    );
  });
});

// ---------------------------------------------------------------------------------------------

const digest = fc.oneof(fc.constant(`sha256:${'a'.repeat(64)}`), fc.string({ maxLength: 80 }), fc.constant('sha256:xyz'), fc.constant(`sha512:${'b'.repeat(128)}`));
const size = fc.oneof(fc.integer({ min: -5, max: 100 }), fc.constant(2 ** 53), fc.constant(1e30), fc.constant(-1), fc.double(), fc.constant('12'));
const mediaType = fc.oneof(fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/x-unknown', ''), fc.string({ maxLength: 20 }));
const descriptor = fc.record({ mediaType, digest, size }, { requiredKeys: [] });
const manifest = fc.record({ schemaVersion: fc.oneof(fc.constant(2), fc.integer(), fc.string()), mediaType, config: fc.oneof(descriptor, fc.anything()), layers: fc.oneof(fc.array(descriptor, { maxLength: 4 }), fc.anything()) }, { requiredKeys: [] });
const index = fc.record({ schemaVersion: fc.oneof(fc.constant(2), fc.anything()), mediaType, manifests: fc.oneof(fc.array(fc.record({ mediaType, digest, size, platform: fc.anything() }, { requiredKeys: [] }), { maxLength: 4 }), fc.anything()) }, { requiredKeys: [] });
const documentArb = fc.oneof(manifest, index, fc.anything(), fc.jsonValue());

describe('manifests and indexes', () => {
  it('checked documents: malformed ones are MANIFEST_INVALID naming the image', () => {
    fc.assert(
      fc.property(documentArb, (doc) => {
        refusesCleanly(() => parseManifestDocument(doc, 'reg/img:1'), (m) => m.startsWith('reg/img:1'));
        refusesCleanly(() => parseIndexDocument(doc, 'reg/img:1'), (m) => m.startsWith('reg/img:1'));
      }),
      opts,
    );
  });

  describe('from a registry that serves them', () => {
    let server: Server;
    let served: { body: string; type: string } = { body: '{}', type: 'application/json' };
    beforeAll(async () => {
      server = createServer((req, res) => {
        if (req.url === '/v2/') return void res.end('{}');
        res.writeHead(200, { 'content-type': served.type });
        res.end(served.body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('a pull of whatever the registry sends: a manifest, or an error naming the image', async () => {
      const client = new RegistryClient(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { retries: 0 });
      await fc.assert(
        fc.asyncProperty(fc.oneof(documentArb.map((d) => JSON.stringify(d) ?? 'null'), fc.string()), fc.constantFrom('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json', 'text/html', ''), async (body, type) => {
          served = { body, type };
          await refusesCleanlyAsync(() => client.getManifest('fuzz/img', 'v1'), (m) => m.includes('fuzz/img'));
        }),
        { numRuns: Math.min(RUNS, 100) },
      );
    });
  });

  it('an OCI archive with any index.json: ARCHIVE_INVALID or MANIFEST_INVALID naming the file; nothing enters the store', async () => {
    const home = mkdtempSync(join(scratch, 'store-'));
    const store = new ImageStore(home);
    store.ensureDirs();
    await fc.assert(
      fc.asyncProperty(documentArb, async (doc) => {
        const file = join(scratch, 'fuzz.tar');
        writeFileSync(file, archive({ 'oci-layout': '{"imageLayoutVersion":"1.0.0"}', 'index.json': JSON.stringify(doc) ?? 'null' }));
        await refusesCleanlyAsync(() => importArchive(store, file), (m) => m.includes(file));
        expect(readdirSync(store.blobsDir)).toEqual([]);
      }),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('layer tars', () => {
  const root = mkdtempSync(join(scratch, 'layers-'));
  const outside = join(root, 'outside');
  mkdirSync(outside);
  let n = 0;

  /** Extracts `bytes` (optionally gzipped) into a fresh directory; nothing may land beside it. */
  async function extract(bytes: Buffer): Promise<void> {
    const dest = join(root, `l${n++}`);
    await refusesCleanlyAsync(() => extractLayer(Readable.from([bytes]), dest, { chown: 'tolerate' }), (m) => m.length > 0);
    // only the finished layer (or nothing) beside the sentinel: no partial directory, nothing written out
    expect(readdirSync(root).filter((f) => f !== 'outside' && !/^l\d+$/.test(f))).toEqual([]);
    expect(readdirSync(outside)).toEqual([]);
    removeLayer(dest);
  }

  /** A layer may make its directories 000 (its root too): an unprivileged owner opens them up before deleting. */
  function removeLayer(dir: string): void {
    try {
      if (!lstatSync(dir).isDirectory()) return rmSync(dir, { force: true });
      chmodSync(dir, 0o700);
      for (const e of readdirSync(dir)) removeLayer(join(dir, e));
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  const name = fc.oneof(
    fc.constantFrom('a', 'dir/', 'dir/file', '../escape', '../../outside/x', '/etc/passwd', './x', 'a/../../b', '.wh.a', 'dir/.wh..wh..opq', ''),
    fc.string({ maxLength: 120 }),
    fc.integer({ min: 1, max: 400 }).map((k) => 'n'.repeat(k)),
  );
  const entry: fc.Arbitrary<TarEntry> = fc.record(
    {
      name,
      type: fc.constantFrom('file', 'dir', 'symlink', 'hardlink'),
      content: fc.string({ maxLength: 40 }),
      target: fc.oneof(fc.constantFrom('../outside', '/', '..', 'a', join(root, 'outside')), fc.string({ maxLength: 30 })),
      mode: fc.integer({ min: 0, max: 0o7777 }),
      claimedSize: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 2 ** 33 - 1 }), fc.constant(8 ** 11 - 1)),
    },
    { requiredKeys: ['name'] },
  );

  it('random entries, links out, escapes, huge claimed sizes: refused or extracted inside', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 6 }), fc.boolean(), async (entries, gzip) => {
        const tar = archive({}, entries);
        await extract(gzip ? gzipSync(tar) : tar);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated anywhere', async () => {
    const whole = archive({ 'a/b/c.txt': 'x'.repeat(3000), 'd.txt': 'y' }, [{ name: 'link', type: 'symlink', target: 'a' }]);
    await fc.assert(fc.asyncProperty(fc.integer({ min: 0, max: whole.length }), fc.boolean(), async (cut, gzip) => extract(gzip ? gzipSync(whole).subarray(0, Math.floor(cut / 4)) : whole.subarray(0, cut))), {
      numRuns: RUNS,
    });
  });

  it('PAX records: odd keys and values, sizes that lie, paths that climb', async () => {
    const key = fc.constantFrom('path', 'linkpath', 'size', 'uid', 'gid', 'mtime', 'SCHILY.xattr.user.x', 'SCHILY.xattr.security.capability', 'GNU.sparse.size', 'comment', '');
    const val = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('-1', '99999999999999999999', '1e9', '../../outside/p', '/abs', 'a'.repeat(5000), ''));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, val, { maxKeys: 4 }), entry, async (records, e) => {
        await extract(Buffer.concat([paxHeader(records), entryBytes(e), Buffer.alloc(1024)]));
      }),
      { numRuns: RUNS },
    );
  });

  it('names: 10,000 directories deep, and very long ones (PAX and GNU long names)', async () => {
    const deep = Array(10_000).fill('d').join('/');
    const longLink = Buffer.from(`${'L'.repeat(3000)}\0`);
    const cases: Buffer[] = [
      Buffer.concat([paxHeader({ path: `${deep}/f` }), entryBytes({ name: 'placeholder', content: 'deep' }), Buffer.alloc(1024)]),
      Buffer.concat([paxHeader({ path: 'x'.repeat(300) }), entryBytes({ name: 'p', content: 'long' }), Buffer.alloc(1024)]),
      Buffer.concat([tarHeader({ name: '././@LongLink' }, longLink.length, 'L'), longLink, Buffer.alloc(512 - (longLink.length % 512)), entryBytes({ name: 'short', content: 'gnu' }), Buffer.alloc(1024)]),
      Buffer.concat([tarHeader({ name: '././@LongLink' }, 2 ** 30, 'L'), Buffer.alloc(1024)]), // a long name that claims a gigabyte
    ];
    for (const c of cases) await extract(c);
  }, 120_000);
});
