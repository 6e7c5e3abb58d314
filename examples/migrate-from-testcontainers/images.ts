// The images the suite runs; a CI without Docker Hub points these at its own registry.
export const REDIS = process.env.REDIS_IMAGE ?? 'redis:7';
export const POSTGRES = process.env.POSTGRES_IMAGE ?? 'postgres:15';
export const NGINX = process.env.NGINX_IMAGE ?? 'nginx:1';
