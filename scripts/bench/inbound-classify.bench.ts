/**
 * inbound_classify_per_s: stored inbound messages (the real Postfix DSNs of our own messages,
 * and the Exim, qmail, Yahoo, Microsoft, Gmail, Sendmail and Courier bounces, ARF / JMRP
 * complaints, auto-replies and replies of test/fixtures/inbound) classified per second on one
 * core by classifyInbound, in one process, round after round over the whole corpus. Each
 * result's Message-IDs are also looked up in a map of ours, standing in for the matcher's
 * lookup of the queue (which comes with the storage of inbound messages). Per second of this
 * process's CPU time, so the figure is one core's whatever else shares the machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import { classifyInbound } from '../../src/inbound/classify-inbound';
import type { BenchContext } from './registry';

export const name = 'inbound-classify';

const WARMUP_MS = 1_000;
const MEASURE_MS = 5_000;

function corpus(): Buffer[] {
  const root = path.join(PROJECT_ROOT, 'test', 'fixtures', 'inbound');
  return fs
    .readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.eml'))
    .sort()
    .map((file) => fs.readFileSync(path.join(root, file)));
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const messages = corpus();
  // Our Message-IDs, as the queue would hold them: every id the corpus refers to.
  const ours = new Map<string, number>();
  for (const message of messages) for (const id of classifyInbound(message).match.messageIds) ours.set(id, ours.size);

  const round = (): number => {
    let matched = 0;
    for (const message of messages) {
      if (classifyInbound(message).match.messageIds.some((id) => ours.has(id))) matched += 1;
    }
    return matched;
  };

  let deadline = Date.now() + WARMUP_MS;
  let matchedPerRound = 0;
  while (Date.now() < deadline) matchedPerRound = round();

  let classified = 0;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  deadline = Date.now() + MEASURE_MS;
  while (Date.now() < deadline) {
    round();
    classified += messages.length;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  context.log(`${messages.length} messages in the corpus, ${matchedPerRound} matched to one of our Message-IDs; ${classified} classified in ${seconds.toFixed(1)} s wall, ${cpuSeconds.toFixed(1)} s CPU`);
  return { inbound_classify_per_s: Math.round(classified / cpuSeconds) };
}
