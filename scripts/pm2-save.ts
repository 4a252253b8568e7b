/**
 * `npm run pm2:save [-- --force]`: saves PM2's process list for `pm2 resurrect` at boot, like
 * `pm2 save`, but without the send workers (src/orchestrator/pm2-dump.ts says why). Uses the
 * daemon `pm2` itself would (PM2_HOME, else ~/.pm2). Run it in the shell that started PM2.
 */
import { Pm2SaveError, saveProcessListWithoutWorkers } from '../src/orchestrator/pm2-dump';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help')) {
    process.stdout.write('usage: npm run pm2:save [-- --force]   (saves the PM2 process list without the send workers)\n');
    return;
  }
  const unknown = args.filter((a) => a !== '--force');
  if (unknown.length > 0) throw new Pm2SaveError(`unexpected arguments: ${unknown.join(' ')}\nusage: npm run pm2:save [-- --force]`);
  const result = await saveProcessListWithoutWorkers({ force: args.includes('--force') });
  process.stdout.write(`Saved ${result.saved.length} app(s) to ${result.file}: ${result.saved.map((a) => `${a.name} (${a.status})`).join(', ') || 'none'}; ${result.workersLeftOut} worker(s) left out\n`);
  const notOnline = result.saved.filter((a) => a.status !== 'online');
  if (notOnline.length > 0) process.stderr.write(`warning: ${notOnline.map((a) => a.name).join(', ')} not online: pm2 resurrect restores an app as it was saved; start it and save again\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`pm2:save: ${(error as Error).message}\n`);
  process.exit(1);
});
