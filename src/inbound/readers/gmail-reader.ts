/**
 * Reads new mail from one Gmail API mailbox once, through `@googleapis/gmail` (the transport's
 * client and auth, src/transports/gmail.transport.ts):
 *   - incremental: users.history.list from the stored historyId, INBOX messageAdded only;
 *   - a first read, or a history Google has expired (404, typically after about a week):
 *     users.messages.list `in:inbox after:` from `since` or a day before the newest message
 *     read, taking the mailbox's historyId (users.getProfile) first so nothing falls between;
 *     what it finds again is delivered again and ingestion's idempotency (the Gmail message
 *     id is the source key) drops it;
 *   - users.messages.get format=raw, cut to limits.maxMessageBytes;
 *   - never deletes; labels nothing unless markProcessed ("seen" removes UNREAD, "keyword"
 *     adds the label OutreachProcessed), and only then asks for the gmail.modify scope
 *     (gmail.readonly otherwise).
 * Progress is saved after every batch. Errors never carry request data (the Bearer token).
 */
import { gmail, type gmail_v1 } from '@googleapis/gmail';
import { createAuthClient, describeGmailError, GMAIL_ROOT_URL, type GmailAuthSettings } from '../../transports/gmail.transport';
import { cut, InboundDeliveryError, MailboxReadError, rereadFrom, type MailboxCursor, type ReaderContext, type ReadResult } from './mailbox-reader';

export const PROCESSED_LABEL = 'OutreachProcessed';
const READONLY_SCOPE = 'https://www.googleapis.com/auth/gmail.readonly';
const MODIFY_SCOPE = 'https://www.googleapis.com/auth/gmail.modify';
const BATCH = 10;
const PAGE_SIZE = 100;

export interface GmailMailboxSettings {
  userEmail: string;
  auth: GmailAuthSettings;
  rootUrl?: string;
  tokenUrl?: string;
}

/** A message to read, with the history record that added it (none when found by messages.list). */
interface Pending {
  id: string;
  recordId?: string;
}

function describe(error: unknown, userEmail: string, duringTokenExchange: boolean): MailboxReadError {
  const d = describeGmailError(error, duringTokenExchange);
  const authFailed = duringTokenExchange ? d.status !== undefined && d.status < 500 : d.status === 401 || d.status === 403;
  const what = duringTokenExchange ? 'token request refused' : 'Gmail API';
  return new MailboxReadError(`Gmail ${userEmail}: ${what}: ${[d.status ?? d.networkCode, d.reason, d.message].filter(Boolean).join(' ')}`, authFailed);
}

function statusOf(error: unknown): number | undefined {
  const e = error as { status?: number; response?: { status?: number } };
  return e.response?.status ?? e.status;
}

export async function readGmailMailbox(settings: GmailMailboxSettings, context: ReaderContext): Promise<ReadResult> {
  const { limits } = context;
  const authClient = createAuthClient(settings, [limits.markProcessed === 'none' ? READONLY_SCOPE : MODIFY_SCOPE]);
  const api: gmail_v1.Gmail = gmail({ version: 'v1', auth: authClient, rootUrl: settings.rootUrl ?? GMAIL_ROOT_URL, timeout: limits.connectTimeoutMs });
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), limits.pollTimeoutMs);
  // Our own schedule retries (the next poll); no silent client retries.
  const call: Call = { retry: false, signal: abort.signal };
  try {
    try {
      await authClient.getAccessToken();
    } catch (error) {
      throw describe(error, settings.userEmail, true);
    }
    return await readWithApi(api, call, context);
  } catch (error) {
    if (abort.signal.aborted) throw new MailboxReadError(`Gmail ${settings.userEmail}: poll took longer than ${limits.pollTimeoutMs} ms`);
    if (error instanceof MailboxReadError || error instanceof InboundDeliveryError) throw error;
    throw describe(error, settings.userEmail, false);
  } finally {
    clearTimeout(deadline);
  }
}

type Call = { retry: false; signal: AbortSignal };

async function readWithApi(api: gmail_v1.Gmail, call: Call, context: ReaderContext): Promise<ReadResult> {
  const { limits } = context;
  const cursor: MailboxCursor = { ...context.cursor };
  let pending: Pending[] | undefined;
  let historyAtEnd: string | undefined;
  if (cursor.gmailHistoryId) {
    try {
      ({ pending, historyId: historyAtEnd } = await addedSince(api, call, cursor.gmailHistoryId, limits.maxMessagesPerPoll));
    } catch (error) {
      // Expired history: read by date instead.
      if (statusOf(error) !== 404) throw error;
    }
  }
  const listed = !pending;
  if (!pending) {
    // The history point first: whatever arrives while the list is read comes in the next history.
    historyAtEnd = (await api.users.getProfile({ userId: 'me' }, call)).data.historyId ?? undefined;
    pending = await inboxAfter(api, call, rereadFrom(cursor));
  }
  const complete = pending.length <= limits.maxMessagesPerPoll;
  const todo = pending.slice(0, limits.maxMessagesPerPoll);

  let processedLabel: string | undefined;
  let read = 0;
  try {
    for (let i = 0; i < todo.length; i += BATCH) {
      const batch = todo.slice(i, i + BATCH);
      const handedOn: string[] = [];
      for (const [j, item] of batch.entries()) {
        let message: gmail_v1.Schema$Message;
        try {
          message = (await api.users.messages.get({ userId: 'me', id: item.id, format: 'raw' }, call)).data;
        } catch (error) {
          // Deleted since it was listed: nothing to read.
          if (statusOf(error) === 404) continue;
          throw error;
        }
        const receivedAt = new Date(Number(message.internalDate ?? Date.now()));
        const { raw, truncated } = cut(Buffer.from(message.raw ?? '', 'base64url'), limits);
        await context.deliver({ sourceKey: item.id, raw, receivedAt, truncated });
        handedOn.push(item.id);
        read += 1;
        if (!cursor.lastSeenAt || receivedAt > cursor.lastSeenAt) cursor.lastSeenAt = receivedAt;
        // The history point moves past a record once every message it added was handed on.
        const next = batch[j + 1] ?? todo[i + batch.length];
        if (item.recordId && next?.recordId !== item.recordId) cursor.gmailHistoryId = item.recordId;
      }
      if (handedOn.length > 0 && limits.markProcessed !== 'none') {
        const labels = limits.markProcessed === 'seen' ? { removeLabelIds: ['UNREAD'] } : { addLabelIds: [(processedLabel ??= await processedLabelId(api, call))] };
        await api.users.messages.batchModify({ userId: 'me', requestBody: { ids: handedOn, ...labels } }, call);
      }
      await context.saveCursor({ ...cursor });
    }
  } catch (error) {
    await context.saveCursor({ ...cursor });
    throw error;
  }
  // Everything up to the history point was read: the next poll asks for what came after it.
  if (complete && historyAtEnd) cursor.gmailHistoryId = historyAtEnd;
  else if (!complete && listed) {
    // More than one poll takes: the next list starts at the newest message read (not a day
    // before it, which could hand on the same batch for ever) and no history point is kept.
    cursor.gmailHistoryId = null;
    if (cursor.lastSeenAt) cursor.since = cursor.lastSeenAt;
  }
  await context.saveCursor({ ...cursor });
  return { read };
}

/** INBOX messages added after a history point, oldest first; stops once it holds more than `limit`. */
async function addedSince(api: gmail_v1.Gmail, call: Call, startHistoryId: string, limit: number): Promise<{ pending: Pending[]; historyId: string | undefined }> {
  const pending: Pending[] = [];
  const seen = new Set<string>();
  let pageToken: string | undefined;
  let historyId: string | undefined;
  do {
    const { data } = await api.users.history.list({ userId: 'me', startHistoryId, labelId: 'INBOX', historyTypes: ['messageAdded'], maxResults: PAGE_SIZE, ...(pageToken ? { pageToken } : {}) }, call);
    historyId = data.historyId ?? historyId;
    for (const record of data.history ?? []) {
      for (const added of record.messagesAdded ?? []) {
        const id = added.message?.id;
        if (!id || seen.has(id) || !(added.message?.labelIds ?? []).includes('INBOX')) continue;
        seen.add(id);
        pending.push({ id, ...(record.id ? { recordId: record.id } : {}) });
      }
    }
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken && pending.length <= limit);
  return { pending, historyId };
}

/** INBOX messages received after `from`, oldest first (ids only: the caller reads at most a poll's worth). */
async function inboxAfter(api: gmail_v1.Gmail, call: Call, from: Date): Promise<Pending[]> {
  const found: Pending[] = [];
  let pageToken: string | undefined;
  do {
    const { data } = await api.users.messages.list({ userId: 'me', q: `in:inbox after:${Math.floor(from.getTime() / 1000)}`, maxResults: PAGE_SIZE, ...(pageToken ? { pageToken } : {}) }, call);
    for (const message of data.messages ?? []) if (message.id) found.push({ id: message.id });
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
  // Gmail lists newest first.
  return found.reverse();
}

async function processedLabelId(api: gmail_v1.Gmail, call: Call): Promise<string> {
  const existing = (await api.users.labels.list({ userId: 'me' }, call)).data.labels?.find((label) => label.name === PROCESSED_LABEL);
  if (existing?.id) return existing.id;
  const created = await api.users.labels.create({ userId: 'me', requestBody: { name: PROCESSED_LABEL, labelListVisibility: 'labelHide', messageListVisibility: 'show' } }, call);
  return created.data.id ?? PROCESSED_LABEL;
}
