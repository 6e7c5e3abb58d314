/** How pulls, loads and pushes report progress: per item (a layer's short digest), per phase. */

export interface PullProgress {
  /** short layer digest (12 hex), or 'manifest' / 'config' */
  item: string;
  phase: 'resolving' | 'downloading' | 'cached' | 'extracting' | 'done';
  received?: number;
  total?: number;
}

/** The 12 hex digits Docker shows for a digest. */
export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
