/**
 * Receiving a CSV file without holding it in memory: either a multipart/form-data upload
 * (busboy; the first file part is the CSV, plain fields before it are passed along) or a raw
 * `text/csv` body. The consumer gets the file's records through the one bounded CSV reader
 * (csv-reader.ts), never the raw bytes. The size limit counts the bytes actually read (a
 * chunked body has no Content-Length to trust); going over `maxCsvBytes` ends the reading
 * with a 413, so whatever the consumer was doing (a transaction) fails and rolls back.
 */
import { PassThrough } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import type { Tunables } from '../config';
import { AppError } from './app-error';
import { readCsvRows, type CsvLimits, type CsvRows } from './csv-reader';

export interface CsvUpload {
  rows: CsvRows;
  fields: Record<string, string>;
}

export type CsvUploadLimits = CsvLimits & Pick<Tunables['imports'], 'maxCsvBytes'>;

const tooLarge = (maxBytes: number) => new AppError(413, 'payload_too_large', 'The file is too large', { limitBytes: maxBytes });

export async function receiveCsv<T>(req: Request, limits: CsvUploadLimits, consume: (upload: CsvUpload) => Promise<T>): Promise<T> {
  const maxBytes = limits.maxCsvBytes;
  const type = (req.get('content-type') ?? '').toLowerCase();
  if (type.startsWith('text/csv')) {
    const declared = Number(req.get('content-length') ?? '0');
    if (declared > maxBytes) throw tooLarge(maxBytes);
    const stream = quietPassThrough();
    let seen = 0;
    req.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) {
        stream.destroy(tooLarge(maxBytes));
        req.unpipe(stream);
        req.resume();
      }
    });
    req.pipe(stream);
    try {
      return await consume({ rows: readCsvRows(stream, limits), fields: {} });
    } catch (error) {
      // The consumer may stop at line 1 of a long body: read (and discard) the rest so the
      // client gets the error response instead of a stalled upload.
      req.unpipe(stream);
      req.resume();
      throw error;
    }
  }
  if (!type.startsWith('multipart/form-data')) {
    throw new AppError(415, 'unsupported_media_type', 'Send the CSV as multipart/form-data (field "file") or as text/csv');
  }

  return new Promise<T>((resolve, rejectPromise) => {
    // On failure keep reading (and discarding) the rest of the body so the client gets the
    // error response instead of a reset connection.
    const reject = (error: unknown) => {
      req.unpipe();
      req.resume();
      rejectPromise(error);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 1024 } });
    } catch (error) {
      reject(new AppError(400, 'invalid_multipart', (error as Error).message));
      return;
    }
    const fields: Record<string, string> = {};
    let started = false;
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, file) => {
      if (started) {
        file.resume();
        return;
      }
      started = true;
      const stream = quietPassThrough();
      file.on('limit', () => {
        stream.destroy(tooLarge(maxBytes));
        file.resume();
      });
      file.on('error', (error: Error) => stream.destroy(error));
      file.pipe(stream);
      consume({ rows: readCsvRows(stream, limits), fields }).then(resolve, reject);
    });
    parser.on('error', (error: Error) => reject(new AppError(400, 'invalid_multipart', `Malformed upload: ${error.message}`)));
    parser.on('close', () => {
      if (!started) reject(new AppError(400, 'validation_failed', 'No file in the upload', { issues: [{ path: 'file', message: 'required' }] }));
    });
    req.pipe(parser);
  });
}

/**
 * The consumer reads errors through its own pipe/iterator; this listener only keeps an error
 * that arrives after the consumer has finished from becoming an uncaught exception.
 */
function quietPassThrough(): PassThrough {
  const stream = new PassThrough();
  stream.on('error', () => undefined);
  return stream;
}
