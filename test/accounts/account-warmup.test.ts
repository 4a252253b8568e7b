import request from 'supertest';
import { claimBatch } from '../../src/queue/claim';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { addContacts, createCampaign, liftedClaimSettings } from '../queue/fixtures';

const t = useTestDatabase();
const DAY_MS = 86_400_000;
// The configured curve (config/default.json): 20, 40, 80, 120, 160, 200, then no warm-up cap.
const CURVE = [20, 40, 80, 120, 160, 200];

describe('warm-up start through the account API (controlled clock)', () => {
  let world: World;
  const config = testConfig();
  let now = new Date('2026-03-10T12:00:00Z');
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);
  const roomy = { transport: 'sink', dailyLimit: 1000, hourlyLimit: 1000, minGapSeconds: 0 };
  let seq = 0;
  const email = () => `warm-${seq++}@warm.example.com`;

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db, config, () => now), 'warm');
    await addSenderDomain(world.app, world.a.adminToken, 'warm.example.com');
  });
  beforeEach(() => {
    now = new Date('2026-03-10T12:00:00Z');
  });

  const get = async (id: string) => {
    const res = await api().get(`/api/accounts/${id}`).set(auth());
    expect(res.status).toBe(200);
    return res.body;
  };

  it("starts the warm-up of an account created active on today's date in its zone, on day 0 of the curve", async () => {
    now = new Date('2026-03-10T20:00:00Z'); // already 11 March in Tokyo
    const utc = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email() });
    const tokyo = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), timeZone: 'Asia/Tokyo' });
    expect(utc.status).toBe(201);
    expect(utc.body).toMatchObject({ status: 'active', warmupStartedOn: '2026-03-10', warmupDay: 0, effectiveDailyLimit: 20, sentToday: 0 });
    expect(tokyo.body).toMatchObject({ warmupStartedOn: '2026-03-11', warmupDay: 0, effectiveDailyLimit: 20 });
    const stored = await t.db.selectFrom('sender_accounts').select('warmup_started_on').where('id', '=', utc.body.id).executeTakeFirstOrThrow();
    expect(stored.warmup_started_on).toBe('2026-03-10');
  });

  it('lets an account created through the API claim more each local day, as the curve says, and shows it', async () => {
    const created = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email() });
    const account = created.body as { id: string; clientId: string };
    const campaign = await createCampaign(t.db, account.clientId, { senders: [account.id] });
    await addContacts(t.db, account.clientId, campaign.id, 700);
    await enqueueCampaign(t.db, campaign.id, now, { messageIdDomain: 'warmup.test' });
    const settings = liftedClaimSettings({ batchSize: 100, warmup: config.warmup });

    const claimedOn = async (at: Date) => {
      let total = 0;
      for (;;) {
        const result = await claimBatch(t.db, account.id, at, settings);
        if (result.kind !== 'claimed') {
          expect(result).toMatchObject({ kind: 'wait', reason: 'limit:account/day' });
          return total;
        }
        total += result.rows.length;
      }
    };
    const perDay: number[] = [];
    for (let day = 0; day < CURVE.length; day++) {
      now = new Date(Date.parse('2026-03-10T12:00:00Z') + day * DAY_MS);
      perDay.push(await claimedOn(now));
      expect(await get(account.id)).toMatchObject({ warmupStartedOn: '2026-03-10', warmupDay: day, effectiveDailyLimit: CURVE[day], sentToday: CURVE[day], waitReason: 'limit:account/day' });
    }
    expect(perDay).toEqual(CURVE);
    // Past the curve only the configured limit caps it.
    now = new Date(Date.parse('2026-03-10T12:00:00Z') + CURVE.length * DAY_MS);
    expect(await get(account.id)).toMatchObject({ warmupDay: CURVE.length, effectiveDailyLimit: 1000, sentToday: 0 });
  });

  it('starts the warm-up of an account created paused only when it is first activated, and never moves it on later pauses and resumes', async () => {
    const created = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), status: 'paused' });
    expect(created.body).toMatchObject({ status: 'paused', warmupStartedOn: null, warmupDay: null, effectiveDailyLimit: 20 });

    now = new Date('2026-03-13T09:00:00Z');
    const activated = await api().patch(`/api/accounts/${created.body.id}`).set(auth()).send({ status: 'active' });
    expect(activated.body).toMatchObject({ status: 'active', warmupStartedOn: '2026-03-13', warmupDay: 0 });

    now = new Date('2026-03-15T09:00:00Z');
    expect((await api().patch(`/api/accounts/${created.body.id}`).set(auth()).send({ status: 'paused' })).body).toMatchObject({ warmupStartedOn: '2026-03-13', warmupDay: 2 });
    now = new Date('2026-03-20T09:00:00Z');
    const resumed = await api().patch(`/api/accounts/${created.body.id}`).set(auth()).send({ status: 'active', dailyLimit: 500 });
    expect(resumed.body).toMatchObject({ status: 'active', warmupStartedOn: '2026-03-13', warmupDay: 7, effectiveDailyLimit: 500 });
  });

  it('takes a warm-up start for a mailbox that is already warm, as a date or as a day, at creation and later', async () => {
    const byDate = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), warmupStartedOn: '2026-03-07' });
    expect(byDate.status).toBe(201);
    expect(byDate.body).toMatchObject({ warmupStartedOn: '2026-03-07', warmupDay: 3, effectiveDailyLimit: 120 });

    const byDay = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), warmupDay: 5, timeZone: 'America/New_York' });
    expect(byDay.body).toMatchObject({ warmupStartedOn: '2026-03-05', warmupDay: 5, effectiveDailyLimit: 200 });
    const both = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), warmupStartedOn: '2026-03-08', warmupDay: 2 });
    expect(both.body).toMatchObject({ warmupStartedOn: '2026-03-08', warmupDay: 2 });

    // A paused account given a start keeps it when activated.
    const paused = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), status: 'paused', warmupDay: 1 });
    now = new Date('2026-03-12T12:00:00Z');
    expect((await api().patch(`/api/accounts/${paused.body.id}`).set(auth()).send({ status: 'active' })).body).toMatchObject({ warmupStartedOn: '2026-03-09', warmupDay: 3 });

    // The operator may move it: back to day 0 for a mailbox to warm up again, or forward.
    const restarted = await api().patch(`/api/accounts/${byDate.body.id}`).set(auth()).send({ warmupDay: 0 });
    expect(restarted.body).toMatchObject({ warmupStartedOn: '2026-03-12', warmupDay: 0, effectiveDailyLimit: 20 });
    const moved = await api().patch(`/api/accounts/${byDate.body.id}`).set(auth()).send({ warmupStartedOn: '2026-01-01', status: 'active' });
    expect(moved.body).toMatchObject({ warmupStartedOn: '2026-01-01', warmupDay: 70, effectiveDailyLimit: 1000 });
  });

  it('rejects warm-up starts in the future of the account zone, impossible dates and nonsense with a 400 naming the field', async () => {
    now = new Date('2026-03-10T20:00:00Z'); // 10 March in UTC, 11 March in Tokyo
    const cases: Array<[object, string]> = [
      [{ warmupStartedOn: '2026-03-11' }, 'warmupStartedOn'],
      [{ warmupStartedOn: '2026-03-12', timeZone: 'Asia/Tokyo' }, 'warmupStartedOn'],
      [{ warmupStartedOn: '2026-02-30' }, 'warmupStartedOn'],
      [{ warmupStartedOn: '10/03/2026' }, 'warmupStartedOn'],
      [{ warmupStartedOn: '2026-03-01T00:00:00Z' }, 'warmupStartedOn'],
      [{ warmupStartedOn: null }, 'warmupStartedOn'],
      [{ warmupDay: -1 }, 'warmupDay'],
      [{ warmupDay: 2.5 }, 'warmupDay'],
      [{ warmupDay: '3' }, 'warmupDay'],
      [{ warmupStartedOn: '2026-03-01', warmupDay: 2 }, 'warmupDay'],
    ];
    for (const [fields, path] of cases) {
      const res = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), ...fields });
      expect({ fields, status: res.status, code: res.body.error?.code }).toEqual({ fields, status: 400, code: 'validation_failed' });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    }
    // The same date is today in Tokyo: accepted there.
    expect((await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email(), warmupStartedOn: '2026-03-11', timeZone: 'Asia/Tokyo' })).status).toBe(201);

    const account = await api().post('/api/accounts').set(auth()).send({ ...roomy, email: email() });
    for (const [fields, path] of cases) {
      const res = await api().patch(`/api/accounts/${account.body.id}`).set(auth()).send(fields);
      expect({ fields, status: res.status }).toEqual({ fields, status: 400 });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual([path]);
    }
    // Moving the account to a zone where the date is not yet reached is refused too.
    const res = await api().patch(`/api/accounts/${account.body.id}`).set(auth()).send({ warmupStartedOn: '2026-03-11', timeZone: 'America/New_York' });
    expect(res.status).toBe(400);
    expect((await get(account.body.id)).warmupStartedOn).toBe('2026-03-10');
  });

  it('imports already-warm mailboxes by CSV further up the curve, and reports bad warm-up columns per row', async () => {
    const csv = [
      'email,transport,daily_limit,time_zone,warmup_day,warmup_started_on,status',
      'csv-new@warm.example.com,sink,1000,,,,',
      'csv-day3@warm.example.com,sink,1000,Asia/Tokyo,3,,',
      'csv-date@warm.example.com,sink,1000,,,2026-03-06,',
      'csv-paused@warm.example.com,sink,1000,,,,paused',
      'csv-future@warm.example.com,sink,1000,,,2026-03-11,',
      'csv-bad-day@warm.example.com,sink,1000,,soon,,',
      'csv-bad-date@warm.example.com,sink,1000,,,2026-13-01,',
      'csv-bad-status@warm.example.com,sink,1000,,,,asleep',
    ].join('\n');
    const res = await api().post('/api/accounts/import').set(auth()).set('Content-Type', 'text/csv').send(csv);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: 4, invalid: 4 });
    const pathsOf = (line: number) => res.body.rows.find((r: { line: number }) => r.line === line).errors.map((e: { path: string }) => e.path);
    expect([pathsOf(6), pathsOf(7), pathsOf(8), pathsOf(9)]).toEqual([['warmupStartedOn'], ['warmupDay'], ['warmupStartedOn'], ['status']]);

    const byEmail = new Map<string, Record<string, unknown>>(
      ((await api().get('/api/accounts?limit=500').set(auth())).body.accounts as Array<Record<string, unknown>>).map((a) => [a.email as string, a]),
    );
    // 12:00 UTC on 10 March is 21:00 in Tokyo, also 10 March: day 3 started on 7 March.
    expect(byEmail.get('csv-new@warm.example.com')).toMatchObject({ warmupStartedOn: '2026-03-10', warmupDay: 0, effectiveDailyLimit: 20 });
    expect(byEmail.get('csv-day3@warm.example.com')).toMatchObject({ warmupStartedOn: '2026-03-07', warmupDay: 3, effectiveDailyLimit: 120 });
    expect(byEmail.get('csv-date@warm.example.com')).toMatchObject({ warmupStartedOn: '2026-03-06', warmupDay: 4, effectiveDailyLimit: 160 });
    expect(byEmail.get('csv-paused@warm.example.com')).toMatchObject({ status: 'paused', warmupStartedOn: null, warmupDay: null });
    expect(byEmail.has('csv-future@warm.example.com')).toBe(false);
  });
});
