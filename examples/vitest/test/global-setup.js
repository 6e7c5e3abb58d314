// Started once for the whole run, before any test file, and removed when the run ends: a stand-in
// for the upstream catalog API (nginx serving the JSON files of ../catalog-api). Tests only read
// from it, so every worker can share it.
import { fileURLToPath } from 'node:url';
import { container } from 'mayfly';
import { mayflyGlobalSetup } from 'mayfly/vitest-global-setup';

export default mayflyGlobalSetup({
  catalogApi: container('nginx:1')
    .withExposedPorts(80)
    .withCopyDirectoriesToContainer([{ source: fileURLToPath(new URL('../catalog-api', import.meta.url)), target: '/usr/share/nginx/html' }]),
});
