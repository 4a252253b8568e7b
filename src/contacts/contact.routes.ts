/** Contacts: single CRUD and the streamed CSV import (optionally straight into a campaign). */
import { z } from 'zod';
import { clientForCreate, scopeOf, type ClientScope } from '../auth/client-scope';
import { getCampaign } from '../campaigns/campaign.repository';
import { enqueueAddedContacts } from '../campaigns/campaign.service';
import type { Config } from '../config';
import type { Db } from '../db/connection';
import { AppError } from '../http/app-error';
import type { ApiRouter } from '../http/api-router';
import { receiveCsv } from '../http/csv-upload';
import { isUniqueViolation } from '../http/db-errors';
import { emailAddress, idParams, singleLine, uuid } from '../http/validation';
import { paged, pagedResponse, pageQuery } from '../http/paging';
import { isValidTimeZone } from '../sending/sending-window';
import { MAX_FIELD_CHARS } from './contact-csv';
import { importContactsCsv } from './contact-import.service';
import { deleteContact, getContact, insertContact, listContacts, updateContact, type ContactRow } from './contact.repository';
import { emailDomain } from './email-address';

const fieldsSchema = z.object({
  firstName: singleLine(MAX_FIELD_CHARS),
  lastName: singleLine(MAX_FIELD_CHARS),
  company: singleLine(MAX_FIELD_CHARS),
  timeZone: z.string().max(64).refine(isValidTimeZone, { message: 'not a known IANA time zone' }).nullable(),
  customFields: z.record(z.string().regex(/^[a-z0-9_]{1,64}$/, 'keys use a-z, 0-9 and _'), singleLine(MAX_FIELD_CHARS)).refine((o) => Object.keys(o).length <= 50, {
    message: 'at most 50 custom fields',
  }),
});

const contactOut = z.object({
  id: z.uuid(),
  clientId: z.uuid(),
  email: z.string(),
  firstName: z.string(),
  lastName: z.string(),
  company: z.string(),
  timeZone: z.string().nullable(),
  customFields: z.record(z.string(), z.string()),
  createdAt: z.string(),
});

const importReport = z.object({
  rows: z.number(),
  imported: z.number(),
  existing: z.number(),
  duplicatesInFile: z.number(),
  suppressed: z.number(),
  invalid: z.number(),
  attachedToCampaign: z.number(),
  queued: z.number().optional(),
  errors: z.array(z.object({ line: z.number(), field: z.string(), message: z.string() })),
  errorsTruncated: z.boolean(),
});

const importQuery = z.object({ strict: z.enum(['true', 'false']).optional() });
const uploadDoc = {
  contentType: 'multipart/form-data' as const,
  description: 'The CSV as the "file" part (or send the raw file with Content-Type: text/csv). Header row required; "email" column required.',
};

function present(c: ContactRow): z.infer<typeof contactOut> {
  return {
    id: c.id,
    clientId: c.client_id,
    email: c.email,
    firstName: c.first_name,
    lastName: c.last_name,
    company: c.company,
    timeZone: c.time_zone,
    customFields: c.custom_fields ?? {},
    createdAt: c.created_at.toISOString(),
  };
}

export function registerContactRoutes(api: ApiRouter, db: Db, config: Config, clock: () => Date = () => new Date()): void {
  const enqueue = { messageIdDomain: config.sending.messageIdDomain };
  const runImport = async (req: Parameters<typeof receiveCsv>[0], clientId: string, campaignId: string | null, strict: boolean) =>
    receiveCsv(req, config.imports, async ({ rows }) => {
      let queued: number | undefined;
      const report = await importContactsCsv(db, rows, {
        clientId,
        campaignId,
        strict,
        maxReportedErrors: config.imports.maxReportedErrors,
        // A running campaign gets step 1 queued for its new contacts in the same transaction
        // (its status is read there, under a lock: it may have changed since the upload began).
        afterImport: campaignId ? async (trx) => void (queued = await enqueueAddedContacts(trx, campaignId, clock(), enqueue)) : undefined,
      });
      return queued === undefined ? report : { ...report, queued };
    });

  api.route({
    method: 'get',
    path: '/contacts',
    operationId: 'listContacts',
    tag: 'contacts',
    summary: 'List contacts (search by email, or those of one campaign)',
    query: pageQuery.extend({ search: z.string().max(254).optional(), campaignId: uuid.optional() }),
    response: pagedResponse('contacts', contactOut),
    handler: async ({ scope, query }) => paged('contacts', query, await listContacts(db, scope, query), present),
  });

  api.route({
    method: 'post',
    path: '/contacts',
    operationId: 'createContact',
    tag: 'contacts',
    summary: 'Create one contact',
    body: fieldsSchema.partial().extend({ email: emailAddress, clientId: uuid.optional() }).strict(),
    response: contactOut,
    errors: [409],
    handler: async ({ scope, body }) => {
      const clientId = await clientForCreate(db, scope, body.clientId);
      try {
        return present(await insertContact(db, clientId, body.email, emailDomain(body.email), body));
      } catch (error) {
        if (isUniqueViolation(error)) throw new AppError(409, 'conflict', 'This contact exists', { issues: [{ path: 'email', message: 'already a contact' }] });
        throw error;
      }
    },
  });

  api.route({
    method: 'post',
    path: '/contacts/import',
    operationId: 'importContacts',
    tag: 'contacts',
    summary: 'Import contacts from a CSV file (streamed; one transaction)',
    query: importQuery,
    upload: uploadDoc,
    status: 200,
    response: importReport,
    errors: [413, 415, 422],
    handler: async ({ req, scope, query }) => {
      // The owner names the client with ?clientId= (their scope); nothing else can be chosen.
      const clientId = await clientForCreate(db, scope);
      return runImport(req, clientId, null, query.strict === 'true');
    },
  });

  api.route({
    method: 'post',
    path: '/campaigns/:id/contacts/import',
    operationId: 'importCampaignContacts',
    tag: 'contacts',
    summary: 'Import contacts from a CSV file into a campaign',
    params: idParams,
    query: importQuery,
    upload: uploadDoc,
    status: 200,
    response: importReport,
    errors: [409, 413, 415, 422],
    handler: async ({ req, scope, params, query }) => {
      const campaign = await getCampaign(db, scope, params.id);
      if (!campaign) throw new AppError(404, 'not_found', 'Campaign not found');
      if (campaign.status === 'completed' || campaign.status === 'cancelled') {
        throw new AppError(409, 'invalid_state', `Contacts cannot join a ${campaign.status} campaign`);
      }
      return runImport(req, campaign.client_id, campaign.id, query.strict === 'true');
    },
  });

  const mustGet = async (scope: ClientScope, id: string) => {
    const contact = await getContact(db, scope, id);
    if (!contact) throw new AppError(404, 'not_found', 'Contact not found');
    return contact;
  };

  api.route({
    method: 'get',
    path: '/contacts/:id',
    operationId: 'getContact',
    tag: 'contacts',
    summary: 'Get a contact',
    params: idParams,
    response: contactOut,
    handler: async ({ scope, params }) => present(await mustGet(scope, params.id)),
  });

  api.route({
    method: 'patch',
    path: '/contacts/:id',
    operationId: 'updateContact',
    tag: 'contacts',
    summary: 'Update a contact’s fields',
    params: idParams,
    body: fieldsSchema.partial().strict(),
    response: contactOut,
    handler: async ({ scope, params, body }) => {
      const contact = await mustGet(scope, params.id);
      const updated = await updateContact(db, scopeOf(contact.client_id), contact.id, body);
      if (!updated) throw new AppError(404, 'not_found', 'Contact not found');
      return present(updated);
    },
  });

  api.route({
    method: 'delete',
    path: '/contacts/:id',
    operationId: 'deleteContact',
    tag: 'contacts',
    summary: 'Delete a contact (and its queued mail)',
    params: idParams,
    status: 204,
    handler: async ({ scope, params }) => {
      if (!(await deleteContact(db, scope, params.id))) throw new AppError(404, 'not_found', 'Contact not found');
    },
  });
}
