/**
 * `preset: 'mayfly'` in a Jest config: the environment, and the globalSetup and globalTeardown of
 * the shared services, in one line. The services themselves go in `testEnvironmentOptions.mayfly`.
 */
const preset = {
  testEnvironment: 'mayfly/jest-environment',
  globalSetup: 'mayfly/jest-global-setup',
  globalTeardown: 'mayfly/jest-global-teardown',
};

export default preset;
