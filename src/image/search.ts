/**
 * `docker search`: Docker Hub's search where it can be reached; a registry's catalog
 * (GET /v2/_catalog) for `REGISTRY/TERM`, and for Docker Hub's mirrors when Hub itself cannot be
 * reached; else an error that says why nothing can be searched.
 */
import { MayflyError, isMayflyError } from '../core/errors.js';
import { getCredentials } from './credentials.js';
import { DOCKER_HUB, isRegistryName, normalizeRegistry, registryHost } from './reference.js';
import { RegistryClient } from './registry/index.js';
import { loadRegistryConfig, registryScheme, type RegistryConfig } from './registry-config.js';

export interface SearchResult {
  name: string;
  description: string;
  stars: number;
  official: boolean;
  /** where the result came from: Docker Hub's search, or the catalog of a registry */
  source: string;
}

const HUB_SEARCH = 'https://index.docker.io/v1/search';
const HUB_TIMEOUT_MS = 5000;

async function hubSearch(term: string, limit: number): Promise<SearchResult[]> {
  const url = `${HUB_SEARCH}?q=${encodeURIComponent(term)}&n=${limit}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(HUB_TIMEOUT_MS), headers: { 'user-agent': 'mayfly' } });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    throw new MayflyError('REGISTRY_UNREACHABLE', `Docker Hub's search (index.docker.io) is unreachable from here (${cause})`, { cause: e });
  }
  if (!res.ok) throw new MayflyError('REGISTRY_ERROR', `Docker Hub's search answered ${res.status}`);
  const body = (await res.json()) as { results?: { name: string; description?: string; star_count?: number; is_official?: boolean }[] };
  return (body.results ?? []).map((r) => ({ name: r.name, description: r.description ?? '', stars: r.star_count ?? 0, official: r.is_official ?? false, source: 'Docker Hub' }));
}

async function catalogSearch(registry: string, term: string, limit: number, config: RegistryConfig, scheme?: 'http' | 'https'): Promise<SearchResult[]> {
  const credentials = await getCredentials(registry);
  const client = new RegistryClient(`${scheme ?? registryScheme(registry, config)}://${registryHost(registry)}`, { name: registry, ...(credentials ? { credentials } : {}) });
  const repos = await client.catalog();
  return repos
    .filter((r) => r.toLowerCase().includes(term.toLowerCase()))
    .slice(0, limit)
    .map((r) => ({ name: `${registry}/${r}`, description: '', stars: 0, official: false, source: `${registry} (catalog)` }));
}

/** `TERM`, or `REGISTRY/TERM` to search one registry's catalog. */
export async function searchImages(query: string, opts: { limit?: number; configFile?: string } = {}): Promise<SearchResult[]> {
  const limit = opts.limit ?? 25;
  const config = await loadRegistryConfig(opts.configFile ? { file: opts.configFile } : {});
  const slash = query.indexOf('/');
  const head = slash > 0 ? query.slice(0, slash) : '';
  if (head && isRegistryName(head) && normalizeRegistry(head) !== DOCKER_HUB) return catalogSearch(normalizeRegistry(head), query.slice(slash + 1), limit, config);
  const term = head && normalizeRegistry(head) === DOCKER_HUB ? query.slice(slash + 1) : query;
  let hubError: MayflyError;
  try {
    return await hubSearch(term, limit);
  } catch (e) {
    if (!isMayflyError(e)) throw e;
    hubError = e;
  }
  // Docker Hub cannot be reached: what its mirrors hold is what pulls here would get
  const mirrors = config.mirrors[DOCKER_HUB] ?? [];
  const tried: string[] = [];
  for (const m of mirrors) {
    const scheme = /^https?:\/\//.exec(m)?.[0];
    const registry = normalizeRegistry(scheme ? m.slice(scheme.length) : m);
    try {
      return await catalogSearch(registry, term, limit, config, scheme === 'http://' ? 'http' : scheme === 'https://' ? 'https' : undefined);
    } catch (e) {
      if (!isMayflyError(e)) throw e;
      tried.push(e.message);
    }
  }
  throw new MayflyError('REGISTRY_UNREACHABLE', `cannot search for "${term}": ${hubError.message}${tried.length ? `; its mirrors cannot be searched either: ${tried.join('; ')}` : ', and no mirror of it is configured'}`, {
    hint: 'search a registry that has a catalog: mayfly search REGISTRY/TERM (e.g. mayfly search 127.0.0.1:5000/nginx)',
  });
}
