/**
 * Rebuilds dist/workers/send-worker.main.js (first emitted by tsc) as one minified bundle, from
 * the TypeScript sources; the process entry dist/workers/send-worker.js stays as tsc emits it
 * and loads the bundle (with V8's code cache, workers/send-worker.ts). Why: up to 1,200
 * workers run on one machine, and what each one keeps in memory is mostly the code it loaded.
 * One tree-shaken, minified file is less source text for V8 to hold, and one file read instead
 * of hundreds at every start (the fleet's spawn time).
 *
 * The Gmail transport and its client are a second bundle beside it, loaded by Gmail workers
 * only. Left out of both and loaded from node_modules where needed: imapflow (reconciling
 * over IMAP), html-to-text (only for steps with an HTML part and no text part; its parser and
 * entity tables would otherwise be ~200 KB of source every worker holds), pg-native (pg's
 * optional native driver, never installed) and node-fetch (gaxios imports it only when given no
 * fetch, and the Gmail transport gives it Node's; with its polyfills it was ~90 KB of source). A linked source map sits beside the bundle for
 * reading stack traces (`node --enable-source-maps`); workers do not load it.
 */
import path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { PROJECT_ROOT } from '../src/config';

export const WORKER_BUNDLE_EXTERNALS = ['imapflow', 'html-to-text', 'pg-native', 'node-fetch'];

/**
 * The Gmail transport is its own bundle (with the Gmail client, minified), loaded by Gmail
 * workers only: in the worker bundle its require stays a require of that file.
 */
const gmailTransportAsSibling: Plugin = {
  name: 'gmail-transport-as-sibling',
  setup(build) {
    build.onResolve({ filter: /^\.\/gmail\.transport$/ }, (args) =>
      args.importer.endsWith(path.join('transports', 'load-transport.ts')) ? { path: './gmail.transport.js', external: true } : undefined,
    );
  },
};

/**
 * nodemailer loads its fetch (and with it node:http, node:https and node:zlib: 11 of Node's own
 * modules) when it loads, for attachments and OAuth2 tokens given as URLs. Our messages never
 * fetch anything (composeMessage disables URL access), yet every worker compiled and kept those
 * modules (measured: −280 KB of V8 heap, −0.3 MB PSS per idle worker without them). Here fetch
 * is loaded on its first call instead.
 */
const nodemailerFetchOnFirstUse: Plugin = {
  name: 'nodemailer-fetch-on-first-use',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/fetch\/index\.js$/ }, (args) =>
      args.importer.includes(`${path.sep}nodemailer${path.sep}`) ? { path: path.join(path.dirname(args.importer), '..', 'fetch', 'index.js'), namespace: 'nodemailer-lazy-fetch' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'nodemailer-lazy-fetch' }, (args) => ({
      contents: `module.exports = function nmfetchOnFirstUse(...args) { const fetch = require(${JSON.stringify(args.path)}); return (fetch.default ?? fetch)(...args); };`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

const BANNED_INPUTS = ['node_modules/zod/v4/classic/', 'node_modules/winston/', 'node_modules/googleapis/'];

async function bundle(entry: string, outName: string, plugins: Plugin[]): Promise<void> {
  const outfile = path.join(PROJECT_ROOT, 'dist', 'workers', outName);
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [path.join(PROJECT_ROOT, entry)],
    outfile,
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    external: WORKER_BUNDLE_EXTERNALS,
    plugins,
    logLevel: 'warning',
    metafile: true,
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith(outName));
  const inputs = Object.keys(output?.[1].inputs ?? {});
  const leaked = BANNED_INPUTS.filter((prefix) => inputs.some((input) => input.includes(prefix)));
  // A worker that pulls these in costs the fleet gigabytes; fail the build rather than ship it.
  if (leaked.length > 0) throw new Error(`${outName} must not contain ${leaked.join(', ')}`);
  process.stdout.write(`${outName}: ${((output?.[1].bytes ?? 0) / 1024).toFixed(0)} KB\n`);
}

async function main(): Promise<void> {
  await bundle('workers/send-worker.main.ts', 'send-worker.main.js', [gmailTransportAsSibling, nodemailerFetchOnFirstUse]);
  await bundle('src/transports/gmail.transport.ts', 'gmail.transport.js', []);
}

main().catch((error: unknown) => {
  process.stderr.write(`bundle-worker: ${(error as Error).message}\n`);
  process.exit(1);
});
