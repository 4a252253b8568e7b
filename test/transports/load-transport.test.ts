import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadTransport, TransportConfigError } from '../../src/transports/load-transport';
import type { OutgoingMessage } from '../../src/transports/transport';
import { startGmailEmulator, type GmailEmulator } from '../peers/gmail-emulator';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';

const account = (transport: 'smtp' | 'gmail' | 'sink', settings: Record<string, unknown> = {}) => ({
  id: '22222222-2222-4222-8222-222222222222',
  email: 'ann@acme.test',
  transport,
  transport_settings: settings,
});

const message = (): OutgoingMessage => ({
  from: { address: 'ann@acme.test', name: 'Ann' },
  to: 'bob@example.test',
  subject: 'Hi',
  html: '<p>Hi</p>',
  text: 'Hi',
  messageId: `<lt.${crypto.randomBytes(4).toString('hex')}@acme.test>`,
  headers: {},
});

describe('loadTransport', () => {
  let peer: SmtpPeer;
  let emulator: GmailEmulator;
  const keys = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: { user: 'ann@acme.test', pass: 'smtp-pass-123' } });
    emulator = await startGmailEmulator({ serviceAccounts: [{ clientEmail: 'svc@proj.iam.test', publicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }] });
  });
  afterAll(async () => {
    await peer.close();
    await emulator.close();
  });

  it('builds an SMTP transport from account settings and decrypted credentials', async () => {
    const transport = loadTransport(account('smtp', { host: peer.host, port: peer.port }), JSON.stringify({ user: 'ann@acme.test', pass: 'smtp-pass-123' }));
    try {
      expect(transport.kind).toBe('smtp');
      expect(await transport.send(message())).toMatchObject({ outcome: 'accepted' });
    } finally {
      await transport.close();
    }
  });

  it('sends without AUTH when the account has no credentials, giving the sender domain (as an A-label) in EHLO unless the account names one', async () => {
    const open = await startSmtpPeer();
    try {
      const cases: Array<[string, Record<string, unknown>, string]> = [
        ['ann@acme.test', {}, 'acme.test'],
        ['ann@bücher.example', {}, 'xn--bcher-kva.example'],
        ['ann@acme.test', { ehloName: 'mail.acme.test' }, 'mail.acme.test'],
      ];
      for (const [email, settings, ehlo] of cases) {
        const transport = loadTransport({ ...account('smtp', { host: open.host, port: open.port, ...settings }), email }, undefined);
        try {
          expect(await transport.send(message())).toMatchObject({ outcome: 'accepted' });
        } finally {
          await transport.close();
        }
        expect(open.received.at(-1)).toMatchObject({ user: undefined, ehlo });
      }
      // The peer that requires AUTH refuses an account without credentials: an account problem.
      const noLogin = loadTransport(account('smtp', { host: peer.host, port: peer.port }), undefined);
      try {
        expect(await noLogin.send(message())).toMatchObject({ outcome: 'auth', reason: 'authentication_required', code: 530 });
      } finally {
        await noLogin.close();
      }
    } finally {
      await open.close();
    }
  });

  it('builds a Gmail transport from a service-account key', async () => {
    const key = { type: 'service_account', client_email: 'svc@proj.iam.test', private_key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const transport = loadTransport(account('gmail'), key, { gmailRootUrl: emulator.rootUrl, gmailTokenUrl: emulator.tokenUrl });
    expect(transport.kind).toBe('gmail');
    const m = message();
    expect(await transport.send(m)).toMatchObject({ outcome: 'accepted' });
    await expect(transport.findSent(m.messageId)).resolves.toBe(true);
  });

  it('builds a sink transport from the default sink address', async () => {
    const transport = loadTransport(account('sink'), undefined, { sink: { host: peer.host, port: peer.port } });
    try {
      expect(transport.kind).toBe('sink');
    } finally {
      await transport.close();
    }
  });

  it('rejects bad settings and credentials naming the field but never the secret', () => {
    const attempt = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error as Error;
      }
      throw new Error('expected a TransportConfigError');
    };
    const missingPass = attempt(() => loadTransport(account('smtp', { host: 'smtp.acme.test', port: 587 }), { user: 'ann', pass: '' }));
    expect(missingPass).toBeInstanceOf(TransportConfigError);
    expect(missingPass.message).toMatch(/SMTP credentials invalid: pass/);
    const badPort = attempt(() => loadTransport(account('smtp', { host: 'smtp.acme.test', port: 'x' }), { user: 'ann', pass: 'p' }));
    expect(badPort.message).toMatch(/SMTP settings invalid: port/);
    const badGmail = attempt(() => loadTransport(account('gmail'), { type: 'oauth2', client_id: 'c', client_secret: 'very-secret-value' }));
    expect(badGmail.message).toMatch(/Gmail credentials invalid: refresh_token/);
    expect(badGmail.message).not.toContain('very-secret-value');
    expect(attempt(() => loadTransport(account('gmail'), 'not json {very-secret-value')).message).not.toContain('very-secret-value');
    expect(attempt(() => loadTransport(account('sink'), undefined))).toBeInstanceOf(TransportConfigError);
    const imapWithoutLogin = attempt(() => loadTransport(account('smtp', { host: 'smtp.acme.test', port: 587, imap: { host: 'imap.acme.test', port: 993 } }), undefined));
    expect(imapWithoutLogin.message).toMatch(/SMTP credentials invalid: .*IMAP/);
  });

  it('loads only the module the account kind needs (compiled code in a fresh process)', () => {
    const compiled = path.resolve(__dirname, '../../dist/src/transports/load-transport.js');
    if (!fs.existsSync(compiled)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    const probe = (kind: string, settings: string, credentials: string) =>
      JSON.parse(
        execFileSync(process.execPath, [
          '-e',
          `const { loadTransport } = require(${JSON.stringify(compiled)});
           const t = loadTransport({ id: 'a', email: 'ann@acme.test', transport: '${kind}', transport_settings: ${settings} }, ${credentials});
           const loaded = Object.keys(require.cache);
           console.log(JSON.stringify({ google: loaded.some((f) => f.includes('googleapis') || f.includes('google-auth-library') || f.includes('gaxios')),
             smtp: loaded.some((f) => f.includes('smtp.transport')), imap: loaded.some((f) => f.includes('imapflow')) }));
           t.close();`,
        ]).toString(),
      ) as { google: boolean; smtp: boolean; imap: boolean };
    expect(probe('smtp', '{ host: "127.0.0.1", port: 2525 }', '{ user: "u", pass: "p" }')).toEqual({ google: false, smtp: true, imap: false });
    const key = JSON.stringify({ type: 'oauth2', client_id: 'c', client_secret: 's', refresh_token: 'r' });
    expect(probe('gmail', '{}', key)).toEqual({ google: true, smtp: false, imap: false });
  });
});
