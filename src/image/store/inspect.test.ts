import { describe, expect, it } from 'vitest';
import { historyRows } from './inspect.js';

const layers = [
  { digest: 'sha256:aa', size: 100 },
  { digest: 'sha256:bb', size: 20 },
];

describe('historyRows', () => {
  it('pairs each step that made a layer with that layer, in order', () => {
    const rows = historyRows(
      {
        rootfs: { type: 'layers', diff_ids: [] },
        history: [
          { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs /' },
          { created_by: 'ENV A=1', empty_layer: true },
          { created_by: 'RUN make', comment: 'buildkit' },
        ],
      },
      layers,
    );
    expect(rows).toEqual([
      { created: '2024-01-01T00:00:00Z', createdBy: 'ADD rootfs /', size: 100, emptyLayer: false, layer: 'sha256:aa' },
      { createdBy: 'ENV A=1', size: 0, emptyLayer: true },
      { createdBy: 'RUN make', size: 20, comment: 'buildkit', emptyLayer: false, layer: 'sha256:bb' },
    ]);
  });

  it('gives one row per layer when the config has no history', () => {
    expect(historyRows({ rootfs: { type: 'layers', diff_ids: [] } }, layers).map((r) => r.layer)).toEqual(['sha256:aa', 'sha256:bb']);
  });
});
