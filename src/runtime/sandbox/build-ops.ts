/**
 * The sandbox's part of a build: files written with the image's owners (COPY, ADD, WORKDIR into a
 * staging directory that becomes a layer), listings of another image's layers, cache-mount and
 * secret paths with their owners, and removal of staging directories a failed step leaves. Every
 * path is checked to be mayfly's own before anything is written or deleted.
 */
import { chmodSync, closeSync, lchownSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { MayflyError } from '../../core/errors.js';
import { CopyExecutor, listView } from '../../image/layer/copy-plan.js';
import type { ImageStore } from '../../image/store/image-store.js';
import type { Layout } from '../../model/home.js';
import type { RootfsDriverName } from '../rootfs/rootfs-driver.js';
import { withLayerView } from './layer-view.js';
import type { Request, RequestMap } from './protocol.js';

type BuildOp = 'stage-copy' | 'list-layers' | 'prepare-path' | 'remove-staged';

interface BuildOpContext {
  store: ImageStore;
  layout: Layout;
  /** the sandbox's staging dir, for views */
  scratch: string;
  driver: RootfsDriverName;
}

function checkLayers(store: ImageStore, layers: string[]): void {
  for (const l of layers) {
    if (resolve(l) !== l || dirname(l) !== resolve(store.layersDir)) throw new MayflyError('INVALID_OPTION', `${l} is not a layer of the store ${store.home}`);
  }
}

export async function buildRequest(req: Extract<Request, { op: BuildOp }>, c: BuildOpContext): Promise<unknown> {
  switch (req.op) {
    case 'stage-copy': {
      const { plan } = req.args;
      checkLayers(c.store, plan.parentLayers);
      if (plan.from.kind === 'layers') checkLayers(c.store, plan.from.layers);
      c.store.ensureDirs();
      mkdirSync(c.scratch, { recursive: true });
      const out = mkdtempSync(resolve(c.store.layersDir, '.stage-'));
      try {
        const empty = await withLayerView(plan.parentLayers, c.scratch, c.driver, (parentRoot) => {
          const copy = (sourceRoot: string) => {
            const ex = new CopyExecutor(plan, sourceRoot, parentRoot, out);
            return ex.run().then(() => !ex.wroteSomething);
          };
          return plan.from.kind === 'dir' ? copy(plan.from.root) : withLayerView(plan.from.layers, c.scratch, c.driver, copy);
        });
        return { dir: out, empty } satisfies RequestMap['stage-copy']['result'];
      } catch (e) {
        rmSync(out, { recursive: true, force: true });
        throw e;
      }
    }
    case 'list-layers': {
      checkLayers(c.store, req.args.layers);
      mkdirSync(c.scratch, { recursive: true });
      return withLayerView(req.args.layers, c.scratch, c.driver, (root) => listView(root, req.args.dir));
    }
    case 'prepare-path': {
      const { path, kind, mode, uid, gid } = req.args;
      if (resolve(path) !== path || !path.startsWith(`${c.layout.home}/`)) throw new MayflyError('INVALID_OPTION', `prepare-path: ${path} is not under MAYFLY_HOME`);
      if (kind === 'dir') mkdirSync(path, { recursive: true });
      else closeSync(openSync(path, 'a'));
      lchownSync(path, uid, gid);
      chmodSync(path, mode);
      return null;
    }
    case 'remove-staged': {
      const { dir } = req.args;
      if (resolve(dir) !== dir || dirname(dir) !== resolve(c.store.layersDir) || !basename(dir).startsWith('.stage-')) {
        throw new MayflyError('INVALID_OPTION', `remove-staged: ${dir} is not a staging directory of the store`);
      }
      rmSync(dir, { recursive: true, force: true });
      return null;
    }
  }
}
