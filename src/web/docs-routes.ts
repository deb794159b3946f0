import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import express, { type RequestHandler, type Router } from 'express';
import { terminalApiDocument } from '../terminals/openapi.js';
import { ServiceUnavailableError } from '../shared/errors.js';

/**
 * Where Redoc's standalone bundle is: copied into dist/docs-assets/ by the build (and into
 * the package), else straight from node_modules (a checkout running from src/, the tests).
 * @example locateRenderer() // '/usr/lib/tenderbridge/dist/docs-assets/redoc.standalone.js'
 */
export function locateRenderer(): string | null {
  const built = fileURLToPath(new URL('../docs-assets/redoc.standalone.js', import.meta.url));
  if (existsSync(built)) return built;
  try {
    return createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js');
  } catch {
    return null;
  }
}

/**
 * The reference page's policy: the pages' same-origin policy, plus what Redoc needs and no
 * more: inline `<style>` elements (styled-components writes its CSS into them at run time)
 * and a worker from a `blob:` URL (its search index). Scripts stay 'self' only.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' blob: data:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const docsHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', DOCS_CONTENT_SECURITY_POLICY);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-store');
  next();
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Terminal API reference · tenderbridge</title>
</head>
<body>
<div id="reference"><p>Loading the terminal API reference…</p></div>
<script src="/docs/assets/redoc.standalone.js"></script>
<script src="/docs/assets/docs.js"></script>
</body>
</html>
`;

// No inline script under the CSP: the start-up call is its own file.
const START = `Redoc.init('/docs/openapi.json', { hideDownloadButton: false, expandResponses: '200,201', jsonSampleExpandLevel: 3 }, document.getElementById('reference'));\n`;

/**
 * The /v1 reference rendered from the OpenAPI document by Redoc, bundled from npm (no CDN),
 * behind `auth` (the console's operator sign-in). Mounted at /docs.
 * @example router.use('/docs', docsRoutes(operatorAuth(operators), build.version))
 */
export function docsRoutes(auth: RequestHandler, version: string): Router {
  const router = express.Router();
  const renderer = locateRenderer();
  router.use(docsHeaders, auth);
  router.get('/', (_req, res) => void res.type('html').send(PAGE));
  router.get('/openapi.json', (_req, res) => void res.json(terminalApiDocument(version)));
  router.get('/assets/docs.js', (_req, res) => void res.type('js').send(START));
  router.get('/assets/redoc.standalone.js', (_req, res) => {
    if (!renderer) throw new ServiceUnavailableError('the reference renderer (redoc) is not installed: run npm run build in a checkout with its devDependencies');
    res.type('js').sendFile(renderer);
  });
  return router;
}
