/** `mayfly inspect` and `mayfly history`: what the store knows of an image, read from disk. */
import type { ImageConfigFile } from './image-config.js';
import type { ImageRecord, ImageStore } from './image-store.js';
import { notInStore } from './tag.js';

export function inspectImage(store: ImageStore, ref: string): ImageRecord {
  const record = store.find(ref);
  if (!record) throw notInStore(ref);
  return record;
}

export interface HistoryRow {
  created?: string;
  createdBy: string;
  /** the layer's compressed size; 0 for a step that made no layer */
  size: number;
  comment?: string;
  emptyLayer: boolean;
  /** the layer's blob digest, for steps that made one */
  layer?: string;
}

/**
 * The image config's history, newest first as `docker history` shows it, each step that made a
 * layer paired with that layer. An image without history gets one row per layer.
 */
export function imageHistory(store: ImageStore, ref: string): HistoryRow[] {
  const record = inspectImage(store, ref);
  return historyRows(record.config, record.layers).reverse();
}

export function historyRows(config: ImageConfigFile, layers: readonly { digest: string; size: number }[]): HistoryRow[] {
  const steps = config.history ?? [];
  if (!steps.length) return layers.map((l) => ({ createdBy: '', size: l.size, emptyLayer: false, layer: l.digest }));
  let next = 0;
  return steps.map((h) => {
    const layer = h.empty_layer ? undefined : layers[next++];
    return {
      ...(h.created ? { created: h.created } : {}),
      createdBy: h.created_by ?? '',
      size: layer?.size ?? 0,
      ...(h.comment ? { comment: h.comment } : {}),
      emptyLayer: Boolean(h.empty_layer),
      ...(layer ? { layer: layer.digest } : {}),
    };
  });
}
