/**
 * The one CSV reader every importer uses (contacts, suppressions, accounts): csv-parse with
 * limits on record size, field size, column count and row count, so what one record can hold
 * in memory is bounded whatever the file. A file that breaks CSV or a limit is rejected as a
 * whole with a 400 naming the line (and the column where known); the importers read inside
 * one transaction (or parse everything before writing), so nothing of such a file is imported.
 *
 * Memory per import in flight, whatever the file: csv-parse's field buffer (at most
 * 2 × maxRecordBytes, it grows by doubling), the record being built (at most maxColumns + 1
 * fields, maxRecordBytes of text) and the records queued between parser and importer (16,
 * the object-mode stream buffer): about 20 × maxRecordBytes in all, ~1.3 MiB with the defaults.
 */
import type { Readable } from 'node:stream';
import { parse, type Parser } from 'csv-parse';
import type { Tunables } from '../config';
import { AppError } from './app-error';

export type CsvLimits = Pick<Tunables['imports'], 'maxRecordBytes' | 'maxFieldBytes' | 'maxColumns' | 'maxRows'>;

export interface CsvRow {
  fields: string[];
  /** The line the record ends on (1-based; a quoted field may span lines). */
  line: number;
}

/** What importers take: records from readCsvRows only (a raw stream is no AsyncGenerator). */
export type CsvRows = AsyncGenerator<CsvRow, void, undefined>;

/**
 * Yields the file's records as arrays of strings; throws AppError for anything unreadable.
 * The parser is attached at once, not at the first read: an upload may fail (over
 * maxCsvBytes) while the importer is still opening its transaction.
 */
export function readCsvRows(input: Readable, limits: CsvLimits): CsvRows {
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    // Column counts are the importers' business (a short row is a row-level problem there);
    // the column limit below keeps any one record bounded.
    relax_column_count: true,
    info: true,
    // Bounds one record: the characters of its fields so far plus the bytes of the one being read.
    max_record_size: limits.maxRecordBytes,
    // max_record_size does not count delimiters, so a line of a million commas would still be a
    // million fields. Past maxColumns fields csv-parse treats commas as text: the rest of the
    // line becomes one last field, which max_record_size bounds, and the loop below refuses the
    // record. (A per-field `cast` hook could refuse sooner but made parsing 5-7 times slower.)
    ignore_last_delimiters: limits.maxColumns + 1,
  });
  input.on('error', (error) => parser.destroy(error));
  // Errors reach the loop below through the iterator; this keeps a late one from being uncaught.
  parser.on('error', () => undefined);
  input.pipe(parser);
  return records(parser, input, limits);
}

async function* records(parser: Parser, input: Readable, limits: CsvLimits): CsvRows {
  let rows = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (record.length > limits.maxColumns) throw tooManyColumns(info.lines, limits);
      for (let index = 0; index < record.length; index++) {
        // A UTF-16 unit is at most 3 bytes of UTF-8: most fields need no byte count.
        const field = record[index]!;
        if (field.length * 3 > limits.maxFieldBytes && Buffer.byteLength(field) > limits.maxFieldBytes) {
          throw malformed(info.lines, index + 1, 'field_too_large', `a field longer than ${limits.maxFieldBytes} bytes (imports.maxFieldBytes)`);
        }
        // Postgres text cannot hold NUL (a 500 in a query otherwise). Decoding UTF-8 never yields
        // a lone surrogate, so NUL is the one character no column can store.
        if (field.includes('\u0000')) throw malformed(info.lines, index + 1, 'nul_character', 'a NUL character (U+0000), which cannot be stored');
      }
      // The first record may be a header; maxRows counts the rows after it.
      if (++rows > limits.maxRows + 1) {
        throw new AppError(413, 'too_many_rows', `The file has more than ${limits.maxRows} rows (imports.maxRows); nothing was imported`, {
          line: info.lines,
          limit: limits.maxRows,
        });
      }
      yield { fields: record, line: info.lines };
    }
  } catch (error) {
    throw asCsvError(error, limits);
  } finally {
    input.unpipe(parser);
    parser.destroy();
  }
}

function tooManyColumns(line: number, limits: CsvLimits): AppError {
  return malformed(line, limits.maxColumns + 1, 'too_many_columns', `more than ${limits.maxColumns} columns (imports.maxColumns)`);
}

/** What each csv-parse error means, in the words of someone fixing the file. */
function describe(code: string, limits: CsvLimits): string | undefined {
  switch (code) {
    case 'INVALID_OPENING_QUOTE':
      return 'a quote inside an unquoted field (quote the whole field and double the quotes in it: "say ""hi""")';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a closing quote followed by something other than a comma or the end of the line';
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is still open at the end of the file';
    case 'CSV_MAX_RECORD_SIZE':
      return `a record longer than ${limits.maxRecordBytes} bytes (imports.maxRecordBytes), or a quote that is never closed`;
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'characters after a closing quote';
    default:
      return undefined;
  }
}

function asCsvError(error: unknown, limits: CsvLimits): unknown {
  if (error instanceof AppError) return error;
  // csv-parse's errors carry a code and the parser's position (`lines`, `index` = 0-based column).
  const csv = error as { code?: unknown; lines?: unknown; index?: unknown; message?: string };
  if (error instanceof Error && typeof csv.code === 'string' && typeof csv.lines === 'number') {
    const index = typeof csv.index === 'number' ? csv.index : null;
    // Past maxColumns the rest of the line is read as one field (see ignore_last_delimiters),
    // where a quote or the record limit trips first: the line's real problem is its columns.
    if (index !== null && index >= limits.maxColumns) return tooManyColumns(csv.lines, limits);
    return malformed(csv.lines, index === null ? null : index + 1, csv.code, describe(csv.code, limits) ?? csv.message ?? csv.code);
  }
  return error;
}

function malformed(line: number, column: number | null, reason: string, what: string): AppError {
  const where = column === null ? `line ${line}` : `line ${line}, column ${column}`;
  return new AppError(400, 'malformed_csv', `The file is not valid CSV at ${where}: ${what}; nothing was imported`, { line, column, reason });
}
