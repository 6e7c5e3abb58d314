export * from './types.js';
export { detectCgroups } from './detect.js';
