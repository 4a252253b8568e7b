/**
 * Rebuilds dist/workers/send-worker.js (first emitted by tsc) as one minified bundle, from the
 * TypeScript sources. Why: up to 1,200 workers run on one machine, and what each one keeps in
 * memory is mostly the code it loaded. One tree-shaken, minified file is less source text for
 * V8 to hold, and one file read instead of hundreds at every start (the fleet's spawn time).
 *
 * Left out of the bundle and loaded from node_modules only by the workers that need them:
 * the Gmail client (Gmail accounts), imapflow (reconciling over IMAP), and pg-native (pg's
 * optional native driver, never installed). A linked source map sits beside the bundle for
 * reading stack traces (`node --enable-source-maps`); workers do not load it.
 */
import path from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../src/config';

export const WORKER_BUNDLE_EXTERNALS = ['@googleapis/gmail', 'imapflow', 'pg-native'];

async function main(): Promise<void> {
  const result = await build({
    absWorkingDir: PROJECT_ROOT,
    entryPoints: [path.join(PROJECT_ROOT, 'workers', 'send-worker.ts')],
    outfile: path.join(PROJECT_ROOT, 'dist', 'workers', 'send-worker.js'),
    allowOverwrite: true,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    sourcemap: 'linked',
    external: WORKER_BUNDLE_EXTERNALS,
    logLevel: 'warning',
    metafile: true,
  });
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('send-worker.js'));
  const banned = ['node_modules/zod/v4/classic/', 'node_modules/winston/', 'node_modules/googleapis/'];
  const inputs = Object.keys(output?.[1].inputs ?? {});
  const leaked = banned.filter((prefix) => inputs.some((input) => input.includes(prefix)));
  // A worker that pulls these in costs the fleet gigabytes; fail the build rather than ship it.
  if (leaked.length > 0) throw new Error(`send-worker bundle must not contain ${leaked.join(', ')}`);
  process.stdout.write(`send-worker bundle: ${((output?.[1].bytes ?? 0) / 1024).toFixed(0)} KB\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bundle-worker: ${(error as Error).message}\n`);
  process.exit(1);
});
