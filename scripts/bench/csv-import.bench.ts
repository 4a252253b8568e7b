/**
 * csv_import_rows_per_s: a 1,000,000-row contacts CSV (written to a temp file, streamed
 * back) imported through the same code path as the API upload — the bounded CSV reader with
 * the default limits, validation, in-file dedupe, suppression filtering, batched inserts, one
 * transaction. The file mixes in invalid rows, in-file duplicates and suppressed addresses so
 * every branch does real work.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { sql } from 'kysely';
import { parseTunables } from '../../src/config';
import { importContactsCsv } from '../../src/contacts/contact-import.service';
import { readCsvRows } from '../../src/http/csv-reader';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'csv-import';

const ROWS = 1_000_000;
const SUPPRESSED = 10_000;

async function writeCsv(file: string, rows: number): Promise<void> {
  const out = fs.createWriteStream(file);
  out.write('email,first_name,last_name,company,time_zone,plan\n');
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    // Every 1,000th row is invalid and every 500th repeats an earlier address.
    const email = i % 1000 === 999 ? `broken-address-${i}` : i % 500 === 499 ? `person${i - 1}@example${(i - 1) % 97}.com` : `person${i}@example${i % 97}.com`;
    chunk += `${email},First${i},"Last, ${i}",Company ${i % 5000},${i % 3 === 0 ? 'Europe/Berlin' : ''},plan-${i % 7}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-csv-bench-'));
  const file = path.join(dir, 'contacts.csv');
  try {
    await writeCsv(file, ROWS);
    context.log(`wrote ${ROWS} rows (${Math.round(fs.statSync(file).size / 2 ** 20)} MiB)`);
    return await withBenchDatabase(async ({ db }) => {
      const client = await db.insertInto('clients').values({ name: 'bench' }).returning('id').executeTakeFirstOrThrow();
      await sql`insert into suppressions (client_id, email, reason)
        select ${client.id}, 'person' || (g * 97) || '@example' || ((g * 97) % 97) || '.com', 'manual' from generate_series(1, ${SUPPRESSED}) g`.execute(db);
      const started = process.hrtime.bigint();
      const report = await importContactsCsv(db, readCsvRows(fs.createReadStream(file), parseTunables().imports), { clientId: client.id });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      context.log(
        `imported ${report.imported}, suppressed ${report.suppressed}, duplicates ${report.duplicatesInFile}, invalid ${report.invalid} in ${seconds.toFixed(1)} s`,
      );
      return { csv_import_rows_per_s: Math.round(report.rows / seconds) };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
