import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer } from '../http/admin-api.helpers';
import { campaignInEveryState, type CampaignInEveryState } from './campaign-states.fixture';

const t = useTestDatabase();

interface Message {
  id: number;
  contactId: string;
  email: string;
  stepNumber: number;
  status: string;
  attempts: number;
  runAfter: string;
  lastError: string | null;
  lastResult: { outcome: string; reason: string | null; smtpCode: number | null; enhancedCode: string | null; at: string } | null;
  sentAt: string | null;
  accountId: string | null;
  accountEmail: string | null;
  messageId: string;
}

describe('GET /api/campaigns/:id/messages', () => {
  let s: CampaignInEveryState;
  const get = (query: string, token = s.world.a.viewerToken) => request(s.app).get(`/api/campaigns/${s.campaignId}/messages${query}`).set(bearer(token));
  const all = async (query = '') => {
    const messages: Message[] = [];
    let cursor: string | null = null;
    do {
      const res = await get(`?limit=5${query}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      messages.push(...(res.body.messages as Message[]));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);
    return messages;
  };

  beforeAll(async () => {
    s = await campaignInEveryState(t.db, 'msgs');
  }, 90_000);
  afterAll(async () => {
    await s?.close();
  });

  it('pages through every queue row of the campaign with a cursor, each row once, in id order', async () => {
    const first = await get('?limit=5');
    expect(first.body.messages).toHaveLength(5);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const messages = await all();
    expect(messages).toHaveLength(12);
    const ids = messages.map((m) => m.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(12);
    const stored = await t.db.selectFrom('email_queue').select(['id', 'message_id', 'status']).where('campaign_id', '=', s.campaignId).orderBy('id').execute();
    expect(messages.map((m) => [m.id, m.messageId, m.status])).toEqual(stored.map((r) => [r.id, r.message_id, r.status]));
    const last = await get(`?limit=5&cursor=${ids[9]}`);
    expect(last.body).toMatchObject({ nextCursor: null });
    expect(last.body.messages.map((m: Message) => m.id)).toEqual(ids.slice(10));
  });

  it('shows per row its step, status, attempts, last error and result class, the account that holds or sent it, and its Message-ID', async () => {
    const byKey = new Map((await all()).map((m) => [`${m.email} ${m.stepNumber}`, m]));
    const row = (name: Parameters<CampaignInEveryState['email']>[0], step = 1) => byKey.get(`${s.email(name)} ${step}`)!;

    expect(row('sent-a')).toMatchObject({ status: 'sent', attempts: 1, lastError: null, accountId: s.accountId, accountEmail: s.accountEmail, lastResult: { outcome: 'accepted', smtpCode: 250 } });
    expect(row('sent-a').sentAt).toEqual(expect.any(String));
    expect(row('sent-a').messageId).toMatch(/^<[^@<>\s]+@[^@<>\s]+>$/);
    expect(row('sent-a', 2)).toMatchObject({ status: 'sent', accountId: s.accountId });
    expect(row('sent-b', 2)).toMatchObject({ status: 'cancelled', attempts: 0, sentAt: null, accountId: s.accountId, lastError: 'contact no longer active in the campaign', lastResult: null });
    expect(row('bounce')).toMatchObject({ status: 'bounced', attempts: 1, lastResult: { outcome: 'recipient_hard', smtpCode: 550 } });
    expect(row('bounce').lastError).toContain('user unknown');
    expect(row('fail')).toMatchObject({ status: 'failed', attempts: 1, accountEmail: s.accountEmail, lastResult: { outcome: 'transient', smtpCode: 451 } });
    expect(row('fail').lastError).toContain('try again later');
    expect(row('retry')).toMatchObject({ status: 'queued', attempts: 1, accountId: null, accountEmail: null, lastResult: { outcome: 'transient' } });
    expect(Date.parse(row('retry').runAfter)).toBeGreaterThan(Date.now());
    expect(row('lost')).toMatchObject({ status: 'held', lastError: 'delivery cannot be verified', accountId: s.accountId });
    expect(row('lost2')).toMatchObject({ status: 'unknown', accountId: s.accountId, lastResult: { outcome: 'unknown' } });
    expect(row('blocked')).toMatchObject({ status: 'suppressed', attempts: 0, accountId: null, lastResult: null });
    expect(row(s.inFlight)).toMatchObject({ status: 'claimed', accountId: s.accountId });
    expect(row(s.due)).toMatchObject({ status: 'queued', attempts: 0, accountId: null });
    const contact = await t.db.selectFrom('contacts').select('id').where('email', '=', s.email('fail')).executeTakeFirstOrThrow();
    expect(row('fail').contactId).toBe(contact.id);
  });

  it('filters by status and by step, and pages within the filter', async () => {
    expect((await all('&status=held')).map((m) => m.email)).toEqual([s.email('lost')]);
    expect((await all('&step=2')).map((m) => m.status).sort()).toEqual(['cancelled', 'sent']);
    expect((await all('&status=queued&step=1')).map((m) => m.email).sort()).toEqual([s.email(s.due), s.email('retry')].sort());
    expect(await all('&status=sent')).toHaveLength(3);
    expect(await all('&status=sending')).toEqual([]);
  });

  it('refuses another client’s campaign as not found, and bad filters and cursors with a 400', async () => {
    const foreign = await get('', s.world.b.adminToken);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    for (const query of ['?status=lost', '?step=0', '?limit=501', '?cursor=abc', '?cursor=-1']) {
      const res = await get(query);
      expect({ query, status: res.status, code: res.body.error?.code }).toEqual({ query, status: 400, code: 'validation_failed' });
    }
    const owner = await request(s.app).get(`/api/campaigns/${s.campaignId}/messages?limit=1`).set(bearer(s.world.ownerToken));
    expect(owner.status).toBe(200);
  });
});
