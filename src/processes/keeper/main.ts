/**
 * The keeper process (spawned by src/keeper/client.ts): the keeper of src/keeper with the Docker
 * Engine API of src/api plugged in. It lives here, above both, because the API is built on the
 * keeper's holdings while the keeper only knows that it serves something beside its own socket.
 */
import { serveApi } from '../../api/serve.js';
import { runKeeper } from '../../keeper/keeper.js';

await runKeeper(serveApi);
