/** `mayfly/testcontainers/mongodb`: @testcontainers/mongodb's API on mayfly. */
export { MongoDBContainer } from './mongodb-container.js';
export { StartedMongoDBContainer } from './started-mongodb-container.js';
