/**
 * TLS to an SMTP relay whose certificate comes from a private CA, as a worker sees it: the
 * compiled transport loaded by loadTransport from an account's settings, in a process of its
 * own whose CA file is the one the server hands its workers (WORKER_NODE_EXTRA_CA_CERTS →
 * NODE_EXTRA_CA_CERTS, config.workerEnv), sending to a real smtp-server speaking STARTTLS or
 * implicit TLS. Certificates are checked: another CA, another host name or an expired
 * certificate is refused as an account problem (auth, tls_certificate_invalid), and nothing is
 * sent. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/config';
import type { OutgoingMessage, SendResult } from '../../src/transports/transport';
import { testConfig } from '../http/admin-api.helpers';
import { createPrivateCa, type PrivateCa } from '../helpers/private-ca';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';

const COMPILED = path.join(PROJECT_ROOT, 'dist', 'src', 'transports', 'load-transport.js');
const LOGIN = { user: 'ann@acme.test', pass: 'relay-pass-123' };

let dir: string;
let ca: PrivateCa;
let otherCa: PrivateCa;
/** What the server gives its workers for WORKER_NODE_EXTRA_CA_CERTS. */
let workerCaEnv: Record<string, string>;
const peers: SmtpPeer[] = [];

beforeAll(() => {
  if (!fs.existsSync(COMPILED)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-smtp-tls-'));
  ca = createPrivateCa(dir, 'relay');
  otherCa = createPrivateCa(dir, 'other');
  const { NODE_EXTRA_CA_CERTS } = testConfig({ WORKER_NODE_EXTRA_CA_CERTS: ca.caFile }).workerEnv;
  if (!NODE_EXTRA_CA_CERTS) throw new Error('the server does not pass WORKER_NODE_EXTRA_CA_CERTS on to its workers');
  workerCaEnv = { NODE_EXTRA_CA_CERTS };
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function peerWith(tls: { key: string; cert: string; implicit?: boolean }): Promise<SmtpPeer> {
  const peer = await startSmtpPeer({ auth: LOGIN, tls });
  peers.push(peer);
  return peer;
}

let sequence = 0;
function message(): OutgoingMessage {
  sequence += 1;
  return { from: { address: 'ann@acme.test', name: 'Ann' }, to: 'bob@example.test', subject: 'Hi', html: '<p>Hi</p>', text: 'Hi', messageId: `<tls.${sequence}.${process.pid}@acme.test>`, headers: {} };
}

/**
 * Sends one message through the compiled transport in a fresh Node process with `env` (its
 * trusted CAs are fixed when it starts, as a worker's are), and returns the result.
 */
function sendFromWorkerProcess(settings: Record<string, unknown>, env: Record<string, string>): Promise<SendResult> {
  const script = `
    const { loadTransport } = require(${JSON.stringify(COMPILED)});
    const [settings, credentials, message] = JSON.parse(process.argv[1]);
    const transport = loadTransport({ id: 'a', email: 'ann@acme.test', transport: 'smtp', transport_settings: settings }, credentials);
    transport.send(message).then(async (result) => { await transport.close(); process.stdout.write(JSON.stringify(result)); });`;
  const child = spawn(process.execPath, ['-e', script, JSON.stringify([settings, LOGIN, message()])], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => (code === 0 && stdout ? resolve(JSON.parse(stdout) as SendResult) : reject(new Error(`probe exited ${code}: ${stderr}`))));
  });
}

describe('SMTP over TLS with a private CA', () => {
  it('sends over STARTTLS when the worker trusts the relay CA, with AUTH inside TLS and the sender domain as EHLO name', async () => {
    const peer = await peerWith(ca.issue({ ip: '127.0.0.1' }));
    const result = await sendFromWorkerProcess({ host: peer.host, port: peer.port, requireTLS: true }, workerCaEnv);
    expect(result).toMatchObject({ outcome: 'accepted', code: 250 });
    expect(peer.received).toHaveLength(1);
    expect(peer.received[0]).toMatchObject({ secure: true, user: LOGIN.user, ehlo: 'acme.test' });
  });

  it('sends over implicit TLS (port 465 style) when the worker trusts the relay CA', async () => {
    const peer = await peerWith({ ...ca.issue({ ip: '127.0.0.1' }), implicit: true });
    const result = await sendFromWorkerProcess({ host: peer.host, port: peer.port, secure: true }, workerCaEnv);
    expect(result).toMatchObject({ outcome: 'accepted', code: 250 });
    expect(peer.received).toMatchObject([{ secure: true, user: LOGIN.user }]);
  });

  it.each([
    ['a worker not given the CA', () => ca.issue({ ip: '127.0.0.1' }), false, /self[- ]signed certificate in certificate chain|unable to (?:get local issuer|verify)/i],
    ['a certificate from another CA', () => otherCa.issue({ ip: '127.0.0.1' }), true, /self[- ]signed certificate in certificate chain|unable to (?:get local issuer|verify)/i],
    ['a certificate for another host name', () => ca.issue({ dns: ['relay.elsewhere.test'] }), true, /does not match certificate's altnames/i],
    ['an expired certificate', () => ca.issue({ ip: '127.0.0.1', expired: true }), true, /certificate has expired/i],
  ] as const)('refuses %s over STARTTLS and over implicit TLS as an account problem, sending nothing', async (_name, certificate, trusted, why) => {
    const env = trusted ? workerCaEnv : {};
    for (const implicit of [false, true]) {
      const peer = await peerWith({ ...certificate(), implicit });
      const result = await sendFromWorkerProcess({ host: peer.host, port: peer.port, secure: implicit, requireTLS: true }, env);
      expect({ implicit, result }).toMatchObject({ implicit, result: { outcome: 'auth', reason: 'tls_certificate_invalid', stage: 'connect' } });
      expect(result.response).toMatch(why);
      expect(peer.received).toHaveLength(0);
    }
  });

  it('never sends in clear to a relay that does not offer STARTTLS when the account requires TLS', async () => {
    const plain = await startSmtpPeer({ auth: LOGIN });
    peers.push(plain);
    const result = await sendFromWorkerProcess({ host: plain.host, port: plain.port, requireTLS: true }, workerCaEnv);
    expect(result).toMatchObject({ outcome: 'auth', reason: 'starttls_unavailable', stage: 'connect' });
    expect(plain.received).toHaveLength(0);
  });
});
