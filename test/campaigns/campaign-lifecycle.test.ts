/**
 * Start and resume through the HTTP API: when sending begins (the app runs on a fixed clock),
 * and the Message-ID domain of CONFIG_FILE on every path that queues mail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

// Friday 6 March 2026, 20:00 UTC: 21:00 in Berlin, 15:00 in New York, Saturday 05:00 in Tokyo.
const FRIDAY_EVENING = new Date('2026-03-06T20:00:00Z');
const MESSAGE_ID_DOMAIN = 'ids.configured.example';

describe('starting and resuming campaigns', () => {
  let app: Express;
  let world: World;
  let now = FRIDAY_EVENING;
  let accountId: string;
  const admin = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-lifecycle-')), 'config.json');
    fs.writeFileSync(file, JSON.stringify({ sending: { messageIdDomain: MESSAGE_ID_DOMAIN } }));
    app = testApp(t.db, testConfig({ CONFIG_FILE: file }), () => now);
    world = await createWorld(t.db, app, 'life');
    await addSenderDomain(app, world.a.adminToken, 'life-sink.example');
    const account = await request(app).post('/api/accounts').set(admin()).send({ transport: 'sink', email: 'sender@life-sink.example' });
    expect(account.status).toBe(201);
    accountId = account.body.id;
  });

  async function campaignWith(settings: object, contacts: Array<{ email: string; timeZone?: string }>) {
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin())
      .send({ name: 'Window', senderAccountIds: [accountId], steps: [{ subject: 'Hi', bodyText: 'Hello' }], ...settings });
    expect(campaign.status).toBe(201);
    const csv = `email,time_zone\n${contacts.map((c) => `${c.email},${c.timeZone ?? ''}`).join('\n')}\n`;
    const imported = await request(app).post(`/api/campaigns/${campaign.body.id}/contacts/import`).set(admin()).set('Content-Type', 'text/csv').send(csv);
    expect(imported.body).toMatchObject({ invalid: 0 });
    return campaign.body.id as string;
  }

  const businessHoursBerlin = { timeZone: 'Europe/Berlin', sendDays: [1, 2, 3, 4, 5], windowStartMinute: 9 * 60, windowEndMinute: 17 * 60 };

  it('answers a start outside the window with the next opening in the campaign’s zone and days', async () => {
    now = FRIDAY_EVENING;
    const id = await campaignWith(businessHoursBerlin, [{ email: 'a@life.example' }]);
    const started = await request(app).post(`/api/campaigns/${id}/start`).set(admin());
    expect(started.status).toBe(200);
    // Monday 9 March, 09:00 in Berlin (UTC+1).
    expect(started.body).toMatchObject({ campaign: { status: 'running' }, queued: 1, sendingBeginsAt: '2026-03-09T08:00:00.000Z', sendingWindow: { open: false, timeZone: 'Europe/Berlin' } });
    expect(started.body.sendingWindow.message).toContain('09:00–17:00 on Mon, Tue, Wed, Thu, Fri');
    expect(started.body.sendingWindow.message).toContain('2026-03-09T08:00:00.000Z');

    // Resumed on Sunday: still Monday morning.
    expect((await request(app).post(`/api/campaigns/${id}/pause`).set(admin())).body).not.toHaveProperty('sendingBeginsAt');
    now = new Date('2026-03-08T12:00:00Z');
    const resumed = await request(app).post(`/api/campaigns/${id}/resume`).set(admin());
    expect(resumed.body).toMatchObject({ campaign: { status: 'running' }, sendingBeginsAt: '2026-03-09T08:00:00.000Z', sendingWindow: { open: false } });
  });

  it('answers a start inside the window with now', async () => {
    now = new Date('2026-03-09T10:30:00Z'); // Monday 11:30 in Berlin
    const id = await campaignWith(businessHoursBerlin, [{ email: 'b@life.example' }]);
    const started = await request(app).post(`/api/campaigns/${id}/start`).set(admin());
    expect(started.body).toMatchObject({ sendingBeginsAt: now.toISOString(), sendingWindow: { open: true, timeZone: 'Europe/Berlin' } });
    expect(started.body.sendingWindow.message).toContain('sending begins now');
  });

  it('in recipients’ time zones, answers with the earliest opening among the contacts’ zones, or now when one is open', async () => {
    now = FRIDAY_EVENING;
    const zoned = { ...businessHoursBerlin, useRecipientTimeZone: true };
    // Tokyo opens Monday 09:00 JST = 00:00 UTC, before Berlin (08:00 UTC); the contact without a zone counts in Berlin.
    const id = await campaignWith(zoned, [{ email: 'c@life.example', timeZone: 'Asia/Tokyo' }, { email: 'd@life.example' }]);
    const started = await request(app).post(`/api/campaigns/${id}/start`).set(admin());
    expect(started.body).toMatchObject({ sendingBeginsAt: '2026-03-09T00:00:00.000Z', sendingWindow: { open: false, timeZone: 'Asia/Tokyo' } });
    expect(started.body.sendingWindow.message).toContain("each contact's time zone (2 zones among the contacts)");

    // New York is at 15:00 on Friday: its contacts can be sent to now.
    const open = await campaignWith(zoned, [{ email: 'e@life.example', timeZone: 'Asia/Tokyo' }, { email: 'f@life.example', timeZone: 'America/New_York' }]);
    const openStart = await request(app).post(`/api/campaigns/${open}/start`).set(admin());
    expect(openStart.body).toMatchObject({ sendingBeginsAt: FRIDAY_EVENING.toISOString(), sendingWindow: { open: true, timeZone: 'America/New_York' } });
  });

  it('gives queued mail Message-IDs on the configured domain when the client has none, on start, CSV import and contacts added by id', async () => {
    now = new Date('2026-03-09T10:30:00Z');
    // A client without sender domains: only data from before 0013 (an account's domain must be
    // its client's since), so the sender's domain row is removed behind the API's back.
    await t.db.deleteFrom('sender_domains').where('domain', '=', 'life-sink.example').execute();
    const id = await campaignWith(businessHoursBerlin, [{ email: 'g@life.example' }]);
    expect((await request(app).post(`/api/campaigns/${id}/start`).set(admin())).body.queued).toBe(1);
    expect((await request(app).post(`/api/campaigns/${id}/contacts/import`).set(admin()).set('Content-Type', 'text/csv').send('email\nh@life.example\n')).body.queued).toBe(1);
    const contact = await request(app).post('/api/contacts').set(admin()).send({ email: 'i@life.example' });
    expect((await request(app).post(`/api/campaigns/${id}/contacts`).set(admin()).send({ contactIds: [contact.body.id] })).body).toEqual({ attached: 1, queued: 1 });

    const messages = await request(app).get(`/api/campaigns/${id}/messages`).set(admin());
    expect(messages.body.messages.map((m: { email: string }) => m.email).sort()).toEqual(['g@life.example', 'h@life.example', 'i@life.example']);
    for (const m of messages.body.messages as Array<{ messageId: string }>) expect(m.messageId).toMatch(new RegExp(`^<[0-9a-f-]{36}@${MESSAGE_ID_DOMAIN.replace(/\./g, '\\.')}>$`));

    // A client with a sender domain of its own uses it instead.
    expect((await request(app).post('/api/domains').set(admin()).send({ domain: 'mail.life-own.example' })).status).toBe(201);
    const own = await campaignWith(businessHoursBerlin, [{ email: 'j@life.example' }]);
    await request(app).post(`/api/campaigns/${own}/start`).set(admin());
    const ownMessages = await request(app).get(`/api/campaigns/${own}/messages`).set(admin());
    expect(ownMessages.body.messages[0].messageId).toMatch(/@mail\.life-own\.example>$/);
  });
});
