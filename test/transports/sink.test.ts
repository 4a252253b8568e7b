import { createDb } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { getSinkMessage, listSinkMessages, pruneSinkMessages } from '../../src/transports/sink-message.repository';
import { startSinkServer, type SinkServer } from '../../src/transports/sink-server';
import { createSinkTransport } from '../../src/transports/sink.transport';
import { loadTransport } from '../../src/transports/load-transport';
import type { OutgoingMessage } from '../../src/transports/transport';
import { useTestDatabase } from '../helpers/database';

const message = (n: number): OutgoingMessage => ({
  from: { address: 'dev@acme.test', name: 'Dev' },
  to: `lead${n}@example.test`,
  subject: `Sink test ${n}`,
  html: `<p>Hello ${n}</p>`,
  text: `Hello ${n}`,
  messageId: `<sink${n}.${Date.now()}@acme.test>`,
  headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
});

describe('dev SMTP sink', () => {
  const t = useTestDatabase();
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await startSinkServer(t.db, { port: 0 });
  });
  afterAll(async () => {
    await sink.close();
  });

  it('stores every message it accepts so the dashboard can show it', async () => {
    const transport = createSinkTransport({ host: sink.host, port: sink.port, db: t.db });
    try {
      const m = message(1);
      expect(await transport.send(m)).toMatchObject({ outcome: 'accepted', code: 250 });
      const [latest] = await listSinkMessages(t.db, { limit: 1 });
      expect(latest).toMatchObject({ mail_from: 'dev@acme.test', rcpt_to: ['lead1@example.test'], message_id: m.messageId, subject: 'Sink test 1' });
      const full = await getSinkMessage(t.db, latest?.id ?? 0);
      expect(full?.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(full?.size_bytes).toBe(Buffer.byteLength(full?.raw ?? ''));
    } finally {
      await transport.close();
    }
  });

  it('answers findSent from the captured mail', async () => {
    const transport = createSinkTransport({ host: sink.host, port: sink.port, db: t.db });
    try {
      const m = message(2);
      await transport.send(m);
      await expect(transport.findSent(m.messageId)).resolves.toBe(true);
      await expect(transport.findSent('<never@acme.test>')).resolves.toBe(false);
    } finally {
      await transport.close();
    }
    await expect(createSinkTransport({ host: sink.host, port: sink.port }).findSent('<x@acme.test>')).resolves.toBeUndefined();
  });

  it('pages newest first and prunes the oldest beyond the retention', async () => {
    const transport = createSinkTransport({ host: sink.host, port: sink.port, maxConnections: 2 });
    try {
      await Promise.all([3, 4, 5].map((n) => transport.send(message(n))));
    } finally {
      await transport.close();
    }
    const page = await listSinkMessages(t.db, { limit: 2 });
    expect(page).toHaveLength(2);
    const next = await listSinkMessages(t.db, { limit: 10, beforeId: page[1]?.id ?? 0 });
    expect(next.every((m) => m.id < (page[1]?.id ?? 0))).toBe(true);
    expect(await pruneSinkMessages(t.db, 2)).toBe(3);
    expect(await listSinkMessages(t.db, { limit: 10 })).toHaveLength(2);
  });

  it("looks Message-IDs up in the captured mail only for accounts that send to the server's own sink", async () => {
    const own = { host: sink.host, port: sink.port };
    const ofAccount = (settings: Record<string, unknown>) =>
      loadTransport({ id: '33333333-3333-4333-8333-333333333333', email: 'dev@acme.test', transport: 'sink', transport_settings: settings }, undefined, { db: t.db, sink: own });
    const m = message(3);
    const sender = createSinkTransport({ ...own, db: t.db });
    await sender.send(m);
    await sender.close();
    const ownSink = ofAccount({});
    const elsewhere = ofAccount({ host: '127.0.0.1', port: await findFreePort() });
    try {
      await expect(ownSink.findSent(m.messageId)).resolves.toBe(true);
      // Mail sent to another SMTP server never reaches sink_messages: "cannot tell", not "not sent".
      await expect(elsewhere.findSent(m.messageId)).resolves.toBeUndefined();
    } finally {
      await ownSink.close();
      await elsewhere.close();
    }
  });

  it('refuses to start on a port already in use', async () => {
    await expect(startSinkServer(t.db, { port: sink.port })).rejects.toThrow(/EADDRINUSE/);
  });

  it('answers 451 (try again later), never 250, for mail it cannot store because the database is down', async () => {
    const deadDb = createDb(`postgres://nobody@127.0.0.1:${await findFreePort()}/none`, { poolMax: 1, idleTimeoutMs: 100 });
    const errors: Error[] = [];
    const downSink = await startSinkServer(deadDb, { port: 0, onError: (error) => errors.push(error) });
    const transport = createSinkTransport({ host: downSink.host, port: downSink.port });
    try {
      const result = await transport.send(message(6));
      expect(result).toMatchObject({ outcome: 'transient', code: 451 });
      expect(result.response).toMatch(/^451 4\.3\.0 Sink storage unavailable/);
      expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toContain('ECONNREFUSED');
    } finally {
      await transport.close();
      await downSink.close();
      await deadDb.destroy();
    }
  });
});
