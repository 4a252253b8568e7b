/**
 * `npm run bench [-- --only NAME[,NAME]] [-- --workers N] [-- --rounds N] [-- --emails N]`: runs each benchmark in
 * scripts/bench/, prints every figure, and writes them all to bench/results/latest.json.
 * A benchmark is not a test: it asserts nothing, it measures.
 *
 * Each benchmark module exports `name` and `run(context)` returning named figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/config';
import { benchmarks, type BenchContext } from './bench/registry';

type Args = { only?: string[]; workers?: number; rounds?: number; emails?: number };

const COUNT_FLAGS = { '--workers': 'workers', '--rounds': 'rounds', '--emails': 'emails' } as const;

function parseArgs(argv: string[]): Args {
  const args: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = (argv[i] ?? '').split('=');
    const value = inline ?? argv[i + 1];
    if (flag === '--only' && value) {
      args.only = value.split(',');
      if (inline === undefined) i++;
    } else if (flag && flag in COUNT_FLAGS && value) {
      const count = Number.parseInt(value, 10);
      if (!Number.isInteger(count) || count <= 0 || String(count) !== value) throw new Error(`${flag} takes a positive whole number`);
      args[COUNT_FLAGS[flag as keyof typeof COUNT_FLAGS]] = count;
      if (inline === undefined) i++;
    }
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const context: BenchContext = { workers: args.workers, rounds: args.rounds, emails: args.emails, log: (line) => process.stdout.write(`  ${line}\n`) };
  const selected = benchmarks.filter((b) => !args.only || args.only.includes(b.name));
  if (selected.length === 0) throw new Error(`no benchmark named ${args.only?.join(',')}; have: ${benchmarks.map((b) => b.name).join(', ')}`);

  const resultsFile = path.join(PROJECT_ROOT, 'bench', 'results', 'latest.json');
  const previous = fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as { figures?: Record<string, number> }) : {};
  const figures: Record<string, number> = { ...(previous.figures ?? {}) };
  for (const bench of selected) {
    process.stdout.write(`${bench.name}\n`);
    const result = await bench.run(context);
    for (const [key, value] of Object.entries(result)) {
      figures[key] = value;
      process.stdout.write(`${key} = ${value}\n`);
    }
  }
  fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
  const machine = { cpus: os.cpus().length, memoryGb: Math.round(os.totalmem() / 2 ** 30), node: process.version };
  fs.writeFileSync(resultsFile, `${JSON.stringify({ updatedAt: new Date().toISOString(), machine, figures }, null, 2)}\n`);
  process.stdout.write(`wrote ${path.relative(PROJECT_ROOT, resultsFile)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exit(1);
});
