/**
 * mayfly's pull and push progress (per item and phase, src/image/progress.ts, push.ts) told in
 * the words Docker's clients print and parse: "Pulling fs layer", "Downloading" with
 * progressDetail, "Already exists", "Pull complete"; "Preparing", "Pushing", "Layer already
 * exists", "Pushed" — keyed by the layer's 12-digit short digest, as Docker keys them.
 */
import type { PullProgress } from '../image/progress.js';
import type { PushProgress } from '../image/push.js';

export type DockerMessage = Record<string, unknown>;

const detail = (current?: number, total?: number) => (current !== undefined && total ? { current, total } : {});

/**
 * One pull's messages. The first blob a pull reports is the image's config (install.ts fetches it
 * before any layer), which Docker does not show: it is left out.
 */
export class PullMessages {
  private config: string | undefined;
  private readonly seen = new Set<string>();
  /** a layer was fetched or extracted: the image is new here */
  fetched = false;

  message(p: PullProgress): DockerMessage[] {
    if (p.item === 'manifest') return [];
    if (this.config === undefined) this.config = p.item;
    if (p.item === this.config) return [];
    const out: DockerMessage[] = [];
    const first = !this.seen.has(p.item);
    this.seen.add(p.item);
    const id = p.item;
    switch (p.phase) {
      case 'downloading':
        this.fetched = true;
        if (first) out.push({ status: 'Pulling fs layer', progressDetail: {}, id });
        out.push({ status: 'Downloading', progressDetail: detail(p.received, p.total), id });
        break;
      case 'cached':
        if (first) out.push({ status: 'Pulling fs layer', progressDetail: {}, id });
        out.push({ status: 'Download complete', progressDetail: {}, id });
        break;
      case 'extracting':
        this.fetched = true;
        out.push({ status: 'Extracting', progressDetail: {}, id });
        break;
      case 'done':
        // a layer the store had already: no download, no extraction
        out.push(first ? { status: 'Already exists', progressDetail: {}, id } : { status: 'Pull complete', progressDetail: {}, id });
        break;
      case 'resolving':
        break;
    }
    return out;
  }
}

/** One push's messages; `configItem`: the short digest of the image's config blob, which Docker does not show. */
export function pushMessage(p: PushProgress, configItem: string, source: string | undefined): DockerMessage | undefined {
  if (p.item === 'manifest' || p.item === configItem) return undefined;
  const id = p.item;
  switch (p.phase) {
    case 'checking':
      return { status: 'Preparing', progressDetail: {}, id };
    case 'exists':
      return { status: 'Layer already exists', progressDetail: {}, id };
    case 'mounted':
      return { status: `Mounted from ${source ?? 'another repository'}`, progressDetail: {}, id };
    case 'uploading':
      return { status: 'Pushing', progressDetail: detail(0, p.total), id };
    case 'pushed':
      return { status: 'Pushed', progressDetail: {}, id };
    case 'done':
      return undefined;
  }
}
