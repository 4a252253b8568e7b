/**
 * Importing a contacts CSV in one transaction, streamed: rows are parsed, validated and
 * de-duplicated as they arrive and written in batches (one multi-row statement per batch,
 * overlapping the parsing of the next batch). A file that cannot be read as CSV, has an
 * unusable header, is too large, or (strict mode) has any invalid row is rejected as a whole:
 * the transaction rolls back and nothing is imported.
 */
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import type { Db, DbOrTx } from '../db/connection';
import { AppError } from '../http/app-error';
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

export async function importContactsCsv(db: Db, input: Readable, options: ImportOptions): Promise<ImportReport> {
  const maxErrors = options.maxReportedErrors ?? 1000;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const report: ImportReport = { rows: 0, imported: 0, existing: 0, duplicatesInFile: 0, suppressed: 0, invalid: 0, attachedToCampaign: 0, errors: [], errorsTruncated: false };

  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, max_record_size: 64 * 1024 });
  input.on('error', (error) => parser.destroy(error));
  // Errors reach the loop below through the iterator; this keeps a late one from being uncaught.
  parser.on('error', () => undefined);
  input.pipe(parser);

  try {
    await db.transaction().execute(async (trx) => {
      let reader: ContactRowReader | undefined;
      let batch: ContactRecord[] = [];
      let pending: Promise<void> | undefined;
      const add = (result: BatchResult) => {
        report.imported += result.inserted;
        report.existing += result.existing;
        report.suppressed += result.suppressed;
        report.attachedToCampaign += result.attached;
      };
      const flush = async () => {
        const rows = batch;
        batch = [];
        await pending;
        pending = undefined;
        if (rows.length === 0) return;
        pending = insertContactBatch(trx, options.clientId, options.campaignId ?? null, rows).then(add);
        // Awaited at the next flush; until then a failure must not count as unhandled.
        pending.catch(() => undefined);
      };

      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        if (!reader) {
          try {
            reader = contactRowReader(record);
          } catch (error) {
            if (error instanceof HeaderError) throw new AppError(400, 'invalid_csv_header', `The CSV header is not usable: ${error.message}`, { line: info.lines });
            throw error;
          }
          continue;
        }
        report.rows++;
        const result = reader.read(record, info.lines);
        if (result.kind === 'contact') {
          batch.push(result.contact);
          if (batch.length >= batchSize) await flush();
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
  } catch (error) {
    throw asImportError(error);
  } finally {
    input.unpipe(parser);
  }
  return report;
}

function asImportError(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const csv = error as { code?: string; lines?: number; message?: string };
  if (typeof csv.code === 'string' && csv.code.startsWith('CSV_')) {
    return new AppError(400, 'malformed_csv', `The file is not valid CSV (line ${csv.lines ?? '?'}): ${csv.message ?? csv.code}; nothing was imported`, {
      line: csv.lines ?? null,
      reason: csv.code,
    });
  }
  return error;
}
