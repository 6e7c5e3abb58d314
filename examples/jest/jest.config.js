const path = require('node:path');

/** @type {import('jest').Config} */
module.exports = {
  // mayfly's test environment, and the globalSetup/globalTeardown that start and remove `shared`
  preset: 'mayfly',
  testEnvironmentOptions: {
    mayfly: {
      // started for each test file that names it in its docblock (`@mayfly redis`), removed after it:
      // files running side by side in other workers never see each other's keys
      services: {
        redis: { image: 'redis:7', exposedPorts: [6379] },
      },
      // started once for the whole run: a stand-in for the upstream catalog API (nginx serving the
      // JSON files of ./catalog-api). Tests only read from it, so every worker can share it
      shared: {
        catalogApi: {
          image: 'nginx:1',
          exposedPorts: [80],
          copies: [{ source: path.join(__dirname, 'catalog-api'), target: '/usr/share/nginx/html' }],
        },
      },
    },
  },
};
