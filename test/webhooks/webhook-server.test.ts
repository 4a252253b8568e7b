/**
 * The compiled server as a real process: a signed Mailgun complaint posted to its public
 * endpoint is answered 200 at once and acted on by the server's own processing loop (the
 * contact suppressed), with a log line per delivery received and processed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { findFreePort } from '../../src/db/embedded-postgres';
import { parseCredentialKeys } from '../../src/secrets';
import { useTestDatabase } from '../helpers/database';
import { startServerProcess, waitForListening, type ServerRun } from '../helpers/server-process';
import { waitFor } from '../helpers/wait-for';
import { inboundWorld } from '../inbound/inbound-world';
import { mailgunSigned } from './esp-peers';

jest.setTimeout(120_000);

const t = useTestDatabase();
const CREDENTIALS_KEYS = `k1:${crypto.randomBytes(32).toString('base64')}`;
const SIGNING_KEY = 'key-server-0123456789abcdef';
let run: ServerRun | undefined;
let tempDir: string;

beforeAll(() => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-webhook-server-'));
});
afterAll(async () => {
  if (run && run.child.exitCode === null) {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  fs.rmSync(tempDir, { recursive: true, force: true });
});

it('answers a signed webhook at once and processes it in its own loop', async () => {
  const world = await inboundWorld(t.db, { accountEmail: 'srv@mail.harbour.test', contacts: [{ email: 'grumpy@client.test', messageId: '<srv-1@mail.harbour.test>' }], sentAt: new Date(Date.now() - 3_600_000) });
  const cipher = createCredentialCipher(parseCredentialKeys(CREDENTIALS_KEYS));
  const endpoint = await t.db
    .insertInto('webhook_endpoints')
    .values({ client_id: world.clientId, provider: 'mailgun', name: 'Mailgun', verification_key_encrypted: cipher.encrypt(SIGNING_KEY) })
    .returning('id')
    .executeTakeFirstOrThrow();

  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { enabled: false }, sink: { enabled: false }, webhooks: { processIntervalMs: 200 } }));
  const port = await findFreePort();
  run = startServerProcess({ DATABASE_URL: t.url, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, CREDENTIALS_KEYS });
  await waitForListening(port, run);

  const body = mailgunSigned(SIGNING_KEY, { id: 'mg-srv-1', event: 'complained', timestamp: Date.now() / 1000, recipient: 'grumpy@client.test', message: { headers: { 'message-id': 'srv-1@mail.harbour.test' } } });
  const res = await fetch(`http://127.0.0.1:${port}/webhooks/mailgun/${endpoint.id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ received: true, duplicate: false });

  await waitFor(async () => (await t.db.selectFrom('suppressions').select('reason').where('client_id', '=', world.clientId).where('email', '=', 'grumpy@client.test').executeTakeFirst())?.reason === 'complaint', 'the complaint to suppress the contact', 30_000);
  // The loop logs "processed" after the effects are stored: the suppression can be seen first.
  await waitFor(async () => run!.logLines().some((l) => l.message === 'webhook processed'), 'the processed line in the log', 10_000);
  const logged = run.logLines().filter((l) => typeof l.message === 'string' && (l.message as string).startsWith('webhook '));
  expect(logged).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ message: 'webhook received', provider: 'mailgun', endpointId: endpoint.id, clientId: world.clientId, outcome: 'stored' }),
      expect.objectContaining({ message: 'webhook processed', provider: 'mailgun', clientId: world.clientId, events: 1 }),
    ]),
  );
});
