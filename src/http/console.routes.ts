/**
 * The operator console (src/console/, built by `npm run build` into dist/web) served at `/` from the
 * API's origin, under the same strict CSP as everything else: the build has no inline script
 * or style. Hashed assets are cached for a year; index.html never, so a new build shows at
 * the next load. Browser navigations to the console's own paths (/fleet, /campaigns/…) get
 * index.html and the app routes itself; anything else that matches nothing keeps the API's
 * JSON 404, so API clients never get a page back.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';
import { PROJECT_ROOT } from '../config';

export const CONSOLE_DIR = path.join(PROJECT_ROOT, 'dist', 'web');

export function consoleRoutes(dir = CONSOLE_DIR): Router {
  const router = express.Router();
  const indexFile = path.join(dir, 'index.html');
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false }));
  // A middleware, not a route: a request it passes on stays unmatched (metrics label it so).
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path.startsWith('/api/') || req.path.startsWith('/assets/') || !(req.headers.accept ?? '').includes('text/html')) {
      next();
      return;
    }
    if (!fs.existsSync(indexFile)) {
      res.status(503).type('text/plain').send('The console is not built: run `npm run build` (npm start does it).\n');
      return;
    }
    res.setHeader('cache-control', 'no-cache');
    res.sendFile(indexFile);
  });
  return router;
}
