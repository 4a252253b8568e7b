/** Suppression list: add, remove, import (CSV), export (CSV, safe to open in a spreadsheet). */
import { stringify } from 'csv-stringify';
import { z } from 'zod';
import { clientForCreate } from '../auth/client-scope';
import type { Config } from '../config';
import { normalizeEmail } from '../contacts/email-address';
import { ERASED_PREFIX } from '../erasure/address-hash';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { receiveCsv } from '../http/csv-upload';
import { emailAddress, uuid } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { spreadsheetSafe } from './csv-safe';
import { addSuppressions, allSuppressions, deleteSuppression, getSuppression, listSuppressions, type SuppressionRow } from './suppression-list.repository';

const reasonSchema = z.enum(['unsubscribed', 'hard_bounce', 'soft_bounce', 'complaint', 'manual']);
const suppressionOut = z.object({ id: z.number(), clientId: z.uuid(), email: z.string().describe("The address, or 'erased:<keyed hash>' for a person who was erased"), reason: reasonSchema, source: z.string(), createdAt: z.string() });
const suppressionParams = z.object({ id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER) });

/** The recipient's own choices (unsubscribe, complaint) are never undone from the admin side. */
const PROTECTED_REASONS = new Set(['unsubscribed', 'complaint']);
const IMPORT_BATCH = 5000;

const present = (s: SuppressionRow): z.infer<typeof suppressionOut> => ({
  id: s.id,
  clientId: s.client_id,
  email: s.email,
  reason: s.reason,
  source: s.source,
  createdAt: s.created_at.toISOString(),
});

export function registerSuppressionRoutes(api: ApiRouter, db: Db, config: Config): void {
  api.route({
    method: 'get',
    path: '/suppressions',
    operationId: 'listSuppressions',
    tag: 'suppressions',
    summary: 'List suppressed addresses',
    query: pageQuery.extend({ search: z.string().max(254).optional(), reason: reasonSchema.optional() }),
    response: pagedResponse('suppressions', suppressionOut),
    handler: async ({ scope, query }) => paged('suppressions', query, await listSuppressions(db, scope, query), present),
  });

  api.route({
    method: 'post',
    path: '/suppressions',
    operationId: 'createSuppression',
    tag: 'suppressions',
    summary: 'Suppress an address (manual)',
    body: z.object({ email: emailAddress, clientId: uuid.optional() }).strict(),
    response: z.object({ email: z.string(), added: z.boolean() }),
    handler: async ({ scope, auth, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      const added = await db.transaction().execute((trx) => addSuppressions(trx, clientId, [body.email], 'manual', `api:user:${auth.userId}`));
      return { email: body.email, added: added > 0 };
    },
  });

  api.route({
    method: 'post',
    path: '/suppressions/import',
    operationId: 'importSuppressions',
    tag: 'suppressions',
    summary: 'Suppress every address in a CSV (an "email" column, or the first column)',
    upload: { contentType: 'multipart/form-data', description: 'The CSV as the "file" part, or the raw file with Content-Type: text/csv' },
    status: 200,
    response: z.object({
      rows: z.number(),
      added: z.number(),
      alreadySuppressed: z.number(),
      invalid: z.number(),
      errors: z.array(z.object({ line: z.number(), message: z.string() })),
    }),
    errors: [413, 415],
    handler: async ({ req, scope, auth }) => {
      const clientId = await clientForCreate(db, scope);
      return receiveCsv(req, config.imports, async ({ rows }) => {
        const report = { rows: 0, added: 0, alreadySuppressed: 0, invalid: 0, errors: [] as Array<{ line: number; message: string }> };
        const source = `import:user:${auth.userId}`;
        // One transaction: a file the reader rejects halfway suppresses nothing.
        await db.transaction().execute(async (trx) => {
          let emailColumn = -1;
          let batch: string[] = [];
          const flush = async () => {
            const added = await addSuppressions(trx, clientId, batch, 'manual', source);
            report.added += added;
            report.alreadySuppressed += batch.length - added;
            batch = [];
          };
          const seen = new Set<string>();
          for await (const { fields, line } of rows) {
            if (emailColumn < 0) {
              const named = fields.findIndex((h) => /^e-?mail(_address)?$/i.test(h.trim()));
              emailColumn = named >= 0 ? named : 0;
              // A file without a header starts with an address: count it as data.
              if (named >= 0 || !normalizeEmail(fields[0] ?? '')) continue;
            }
            report.rows++;
            const email = normalizeEmail(fields[emailColumn] ?? '');
            if (!email) {
              report.invalid++;
              if (report.errors.length < config.imports.maxReportedErrors) report.errors.push({ line, message: 'not a valid email address' });
              continue;
            }
            if (seen.has(email)) {
              report.alreadySuppressed++;
              continue;
            }
            seen.add(email);
            batch.push(email);
            if (batch.length >= IMPORT_BATCH) await flush();
          }
          await flush();
        });
        return report;
      });
    },
  });

  api.route({
    method: 'get',
    path: '/suppressions/export',
    operationId: 'exportSuppressions',
    tag: 'suppressions',
    summary: 'Download the suppression list as CSV',
    responseContentType: 'text/csv',
    handler: async ({ res, scope }) => {
      res.status(200).type('text/csv; charset=utf-8').attachment('suppressions.csv');
      const csv = stringify({ header: true, columns: ['email', 'reason', 'source', 'created_at', 'client_id'] });
      csv.pipe(res);
      for await (const row of allSuppressions(db, scope)) {
        const ok = csv.write([row.email, row.reason, row.source, row.created_at.toISOString(), row.client_id].map(spreadsheetSafe));
        if (!ok) await new Promise((resolve) => csv.once('drain', resolve));
      }
      await new Promise<void>((resolve) => {
        res.once('finish', resolve);
        csv.end();
      });
    },
  });

  api.route({
    method: 'delete',
    path: '/suppressions/:id',
    operationId: 'deleteSuppression',
    tag: 'suppressions',
    summary: 'Remove a manual or hard-bounce suppression (unsubscribes, complaints and erasures stay)',
    params: suppressionParams,
    status: 204,
    errors: [409],
    handler: async ({ scope, params }) => {
      const suppression = await getSuppression(db, scope, params.id);
      if (!suppression) throw new AppError(404, 'not_found', 'Suppression not found');
      // An erased person's hash is what keeps them from being mailed again: their request, not a setting.
      if (suppression.email.startsWith(ERASED_PREFIX)) {
        throw new AppError(409, 'protected_suppression', 'This entry is what an erasure left: the person asked to be forgotten and is never mailed again');
      }
      if (PROTECTED_REASONS.has(suppression.reason)) {
        throw new AppError(409, 'protected_suppression', `A suppression for reason "${suppression.reason}" is the recipient's choice and cannot be removed`);
      }
      await deleteSuppression(db, scope, params.id);
    },
  });
}
