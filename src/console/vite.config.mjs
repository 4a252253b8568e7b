// The operator console: a Preact single-page app built into dist/web and served by the
// Express server at `/` (same origin as /api). Vite 8 compiles JSX itself (oxc), so no Babel
// preset is needed; the output has no inline script or style, as the server's CSP requires.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: path.join(here, '..', '..', 'dist', 'web'),
    emptyOutDir: true,
    target: 'es2022',
    // The module-preload polyfill would be an inline helper in older Vite; every browser
    // the console supports has modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
