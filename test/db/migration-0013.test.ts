/**
 * 0013 on data made before accounts had to be on their own client's domain: it registers the
 * domains only one client uses, links every account to its client's domain, and suspends (with
 * an alert and an audit row) the accounts on a domain another client holds or several share.
 */
import { Migrator, type Kysely } from 'kysely';
import { migrations } from '../../db/migrations';
import type { Database } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';
import { createTestDatabase } from '../helpers/database';

describe('0013_account_domain_ownership', () => {
  it('registers, links or suspends the accounts that existed before', async () => {
    const test = await createTestDatabase({ migrated: false });
    const db = test.db as unknown as Kysely<Database>;
    try {
      const before = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const { error } = await before.migrateTo('0012_send_in_flight');
      expect(error).toBeUndefined();

      const client = async (name: string) => (await db.insertInto('clients').values({ name }).returning('id').executeTakeFirstOrThrow()).id;
      const [a, b, c] = [await client('A'), await client('B'), await client('C')];
      const domain = async (clientId: string, name: string) => (await db.insertInto('sender_domains').values({ client_id: clientId, domain: name }).returning('id').executeTakeFirstOrThrow()).id;
      const aDomain = await domain(a, 'A.example');
      const aOther = await domain(a, 'other.example');
      const account = async (clientId: string, email: string, fields: { domain_id?: string; status?: 'active' | 'disabled' } = {}) =>
        (await db.insertInto('sender_accounts').values({ client_id: clientId, email, transport: 'sink', ...fields }).returning('id').executeTakeFirstOrThrow()).id;
      const ids = {
        aOwn: await account(a, 'one@a.example'),
        aWrongLink: await account(a, 'two@a.example', { domain_id: aOther }),
        aFresh: await account(a, 'x@Fresh.example'),
        bOnA: await account(b, 'intruder@a.example', { domain_id: aDomain }),
        bDisabledOnA: await account(b, 'old@a.example', { status: 'disabled' }),
        bShared: await account(b, 'b@shared.example'),
        cShared: await account(c, 'c@shared.example'),
      };

      await migrateToLatest(db);

      const domains = await db.selectFrom('sender_domains').select(['id', 'client_id', 'domain']).orderBy('domain').execute();
      const fresh = domains.find((d) => d.domain === 'fresh.example');
      expect(domains.map((d) => [d.domain, d.client_id])).toEqual([
        ['A.example', a],
        ['fresh.example', a],
        ['other.example', a],
      ]);
      const accounts = new Map((await db.selectFrom('sender_accounts').select(['id', 'domain_id', 'status', 'pause_reason']).execute()).map((r) => [r.id, r]));
      const state = (id: string) => {
        const row = accounts.get(id)!;
        return [row.domain_id, row.status, row.pause_reason];
      };
      expect(state(ids.aOwn)).toEqual([aDomain, 'active', null]);
      expect(state(ids.aWrongLink)).toEqual([aDomain, 'active', null]);
      expect(state(ids.aFresh)).toEqual([fresh?.id, 'active', null]);
      expect(state(ids.bOnA)).toEqual([null, 'suspended', 'domain_not_registered']);
      expect(state(ids.bDisabledOnA)).toEqual([null, 'disabled', null]);
      expect(state(ids.bShared)).toEqual([null, 'suspended', 'domain_not_registered']);
      expect(state(ids.cShared)).toEqual([null, 'suspended', 'domain_not_registered']);

      const alerts = await db.selectFrom('alerts').select(['account_id', 'client_id', 'severity', 'code', 'details']).orderBy('account_id').execute();
      const suspended = [[ids.bOnA, b, 'a.example'], [ids.bShared, b, 'shared.example'], [ids.cShared, c, 'shared.example']].sort((x, y) => x[0]!.localeCompare(y[0]!));
      expect(alerts).toEqual(suspended.map(([id, clientId, name]) => ({ account_id: id, client_id: clientId, severity: 'critical', code: 'domain_not_registered', details: { domain: name } })));
      const audit = await db.selectFrom('audit_log').select(['entity_id', 'action', 'actor_type']).where('entity_type', '=', 'sender_account').orderBy('entity_id').execute();
      expect(audit).toEqual(suspended.map(([id]) => ({ entity_id: id, action: 'account.suspended', actor_type: 'system' })));
    } finally {
      await test.drop();
    }
  });
});
