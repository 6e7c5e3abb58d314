/** `mayfly/jest-global-teardown` (Jest's `globalTeardown`): removes what mayfly/jest-global-setup started. */
import { removeSharedServices } from './jest-global-setup.js';

export default async function mayflyGlobalTeardown(): Promise<void> {
  await removeSharedServices();
}
