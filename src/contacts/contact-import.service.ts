/**
 * Importing a contacts CSV in one transaction, streamed: rows are parsed (by the shared
 * bounded reader, src/http/csv-reader.ts), validated and de-duplicated as they arrive and
 * written in batches (one multi-row statement per batch, overlapping the parsing of the next
 * batch). A file that cannot be read as CSV, breaks a limit of the reader, has an unusable
 * header, is too large, or (strict mode) has any invalid row is rejected as a whole: the
 * transaction rolls back and nothing is imported.
 *
 * Memory, besides the reader's: two batches (at most `batchSize` rows and BATCH_MAX_CHARS of
 * text each, one being written while the next fills), the in-file dedupe set (one entry per
 * distinct address, at most imports.maxRows of them, ≤ 254 characters each) and at most
 * maxReportedErrors row errors.
 */
import type { Db, DbOrTx } from '../db/connection';
import { AppError } from '../http/app-error';
import type { CsvRows } from '../http/csv-reader';
import { contactRowReader, HeaderError, type ContactRecord, type ContactRowReader, type RowError } from './contact-csv';
import { insertContactBatch, type BatchResult } from './contact.repository';

export interface ImportOptions {
  clientId: string;
  /** Also attach every imported (and already known) contact to this campaign. */
  campaignId?: string | null;
  /** Reject the whole file when any row is invalid (default: skip and report such rows). */
  strict?: boolean;
  maxReportedErrors?: number;
  batchSize?: number;
  /** Runs inside the import transaction after the last batch (e.g. enqueue for a running campaign). */
  afterImport?: (trx: DbOrTx) => Promise<void>;
}

export interface ImportReport {
  rows: number;
  imported: number;
  existing: number;
  duplicatesInFile: number;
  suppressed: number;
  invalid: number;
  attachedToCampaign: number;
  errors: RowError[];
  errorsTruncated: boolean;
}

const DEFAULT_BATCH = 5000;
/** A batch is also written once its rows hold this much text, so wide rows cannot pile up. */
const BATCH_MAX_CHARS = 4 * 1024 * 1024;

export async function importContactsCsv(db: Db, rows: CsvRows, options: ImportOptions): Promise<ImportReport> {
  const maxErrors = options.maxReportedErrors ?? 1000;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const report: ImportReport = { rows: 0, imported: 0, existing: 0, duplicatesInFile: 0, suppressed: 0, invalid: 0, attachedToCampaign: 0, errors: [], errorsTruncated: false };

  await db.transaction().execute(async (trx) => {
    let reader: ContactRowReader | undefined;
    let batch: ContactRecord[] = [];
    let batchChars = 0;
    let pending: Promise<void> | undefined;
    const add = (result: BatchResult) => {
      report.imported += result.inserted;
      report.existing += result.existing;
      report.suppressed += result.suppressed;
      report.attachedToCampaign += result.attached;
    };
    const flush = async () => {
      const ready = batch;
      batch = [];
      batchChars = 0;
      await pending;
      pending = undefined;
      if (ready.length === 0) return;
      pending = insertContactBatch(trx, options.clientId, options.campaignId ?? null, ready).then(add);
      // Awaited at the next flush; until then a failure must not count as unhandled.
      pending.catch(() => undefined);
    };

    for await (const { fields, line } of rows) {
      if (!reader) {
        try {
          reader = contactRowReader(fields);
        } catch (error) {
          if (error instanceof HeaderError) throw new AppError(400, 'invalid_csv_header', `The CSV header is not usable: ${error.message}`, { line });
          throw error;
        }
        continue;
      }
      report.rows++;
      const result = reader.read(fields, line);
      if (result.kind === 'contact') {
        batch.push(result.contact);
        batchChars += contactChars(result.contact);
        if (batch.length >= batchSize || batchChars >= BATCH_MAX_CHARS) await flush();
      } else if (result.kind === 'duplicate') {
        report.duplicatesInFile++;
      } else {
        report.invalid++;
        if (report.errors.length < maxErrors) report.errors.push(result.error);
        else report.errorsTruncated = true;
      }
    }
    if (!reader) throw new AppError(400, 'invalid_csv_header', 'The file is empty: expected a header row with an "email" column');
    await flush();
    await pending;
    if (options.strict && report.invalid > 0) {
      throw new AppError(422, 'invalid_rows', `${report.invalid} row(s) are invalid; nothing was imported`, { errors: report.errors, errorsTruncated: report.errorsTruncated });
    }
    await options.afterImport?.(trx);
  });
  return report;
}

function contactChars(c: ContactRecord): number {
  return c.email.length + c.firstName.length + c.lastName.length + c.company.length + (c.timeZone?.length ?? 0) + c.customFieldsJson.length;
}
