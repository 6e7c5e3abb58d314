// The server of mayfly's look-alike of testcontainers-node's test image (README.md: the contract).
// Plain node:http/https, no dependencies: Debian's Node.js 18 runs it as it is.
'use strict';
const { readFileSync } = require('node:fs');
const http = require('node:http');
const https = require('node:https');

const HTTP_PORT = 8080;
const HTTPS_PORT = 8443;
const HELLO = 'hello-world';

/** Answers with a status and, when given, a text or JSON body. */
function reply(res, status, body) {
  if (body === undefined) {
    res.writeHead(status, { 'content-length': 0 }).end();
    return;
  }
  const json = typeof body !== 'string';
  const bytes = Buffer.from(json ? JSON.stringify(body) : body);
  res.writeHead(status, {
    'content-type': `${json ? 'application/json' : 'text/html'}; charset=utf-8`,
    'content-length': bytes.length,
  });
  res.end(bytes);
}

/** Whether the Authorization header carries Basic credentials user:pass. */
function authorised(header) {
  const match = /^basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('latin1');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.slice(0, colon) === 'user' && decoded.slice(colon + 1) === 'pass';
}

/** Whether the request carries the header named (URL-encoded) in the path; header names have no case. */
function hasHeader(req, encodedName) {
  try {
    return decodeURIComponent(encodedName).toLowerCase() in req.headers;
  } catch {
    return false; // not a valid encoding: no such header
  }
}

/** The routes: [method, path pattern, handler]. Paths are compared in lower case, without a trailing slash. */
const routes = [
  ['GET', /^\/hello-world$/, (_req, res) => reply(res, 200, HELLO)],
  ['GET', /^\/hello-world-delay$/, (_req, res) => setTimeout(() => reply(res, 200, HELLO), 3000)],
  ['POST', /^\/hello-world-post$/, (_req, res) => reply(res, 200, HELLO)],
  ['GET', /^\/env$/, (_req, res) => reply(res, 200, process.env)],
  ['GET', /^\/cmd$/, (_req, res) => reply(res, 200, process.argv)],
  ['GET', /^\/auth$/, (req, res) => reply(res, authorised(req.headers.authorization) ? 200 : 401)],
  ['GET', /^\/header-or-400\/([^/]+)$/, (req, res, name) => reply(res, hasHeader(req, name) ? 200 : 400)],
];

function handle(req, res) {
  const rawPath = (req.url ?? '/').split('?')[0];
  const path = rawPath.length > 1 ? rawPath.replace(/\/$/, '') : rawPath;
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  for (const [want, pattern, answer] of routes) {
    const match = pattern.exec(path.toLowerCase());
    if (match && want === method) {
      // the header name keeps the case it was sent in
      const original = match[1] === undefined ? undefined : path.slice(path.length - match[1].length);
      answer(req, res, original);
      return;
    }
  }
  reply(res, 404, `Cannot ${req.method} ${rawPath}`);
}

http.createServer(handle).listen(HTTP_PORT, () => console.log(`Listening on port ${HTTP_PORT}`));
const tls = { key: readFileSync('/etc/ssl/private/cert.key'), cert: readFileSync('/etc/ssl/certs/cert.crt') };
https.createServer(tls, handle).listen(HTTPS_PORT, () => console.log(`Listening on secure port ${HTTPS_PORT}`));
