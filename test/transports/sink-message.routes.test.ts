/**
 * The owner reads what the dev SMTP sink captured through the API (the embedded default's way
 * to see the mail a campaign sends); client users cannot, and bad ids are 4xx.
 */
import request from 'supertest';
import { startSinkServer, type SinkServer } from '../../src/transports/sink-server';
import { createSinkTransport } from '../../src/transports/sink.transport';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('GET /api/sink/messages', () => {
  let sink: SinkServer;
  let world: World;

  beforeAll(async () => {
    sink = await startSinkServer(t.db, { port: 0 });
    world = await createWorld(t.db, testApp(t.db), 'sink');
  });
  afterAll(async () => {
    await sink.close();
  });

  it('lists captured mail newest first for the owner and shows one message raw, as the recipient would get it', async () => {
    const transport = createSinkTransport({ host: sink.host, port: sink.port });
    try {
      for (const n of [1, 2]) {
        await transport.send({ from: { address: 'ann@acme.test', name: 'Ann' }, to: `lead${n}@example.test`, subject: `Hello ${n}`, html: '', text: `Hi ${n}`, messageId: `<sink-api-${n}@acme.test>`, headers: {} });
      }
    } finally {
      await transport.close();
    }
    const list = await request(world.app).get('/api/sink/messages?limit=1').set(bearer(world.ownerToken));
    expect(list.status).toBe(200);
    expect(list.body.messages).toMatchObject([{ from: 'ann@acme.test', to: ['lead2@example.test'], subject: 'Hello 2', messageId: '<sink-api-2@acme.test>' }]);
    const older = await request(world.app).get(`/api/sink/messages?before=${list.body.messages[0].id}`).set(bearer(world.ownerToken));
    expect(older.body.messages.map((m: { subject: string }) => m.subject)).toEqual(['Hello 1']);
    const one = await request(world.app).get(`/api/sink/messages/${list.body.messages[0].id}`).set(bearer(world.ownerToken));
    expect(one.status).toBe(200);
    expect(one.body.raw).toMatch(/^Message-ID: <sink-api-2@acme\.test>/m);
    expect(one.body.raw).toContain('Hi 2');
  });

  it('refuses client users, and answers 4xx for ids that are not there or not ids', async () => {
    expect((await request(world.app).get('/api/sink/messages').set(bearer(world.a.adminToken))).status).toBe(403);
    expect((await request(world.app).get('/api/sink/messages/1').set(bearer(world.a.adminToken))).status).toBe(403);
    expect((await request(world.app).get('/api/sink/messages/999999').set(bearer(world.ownerToken))).status).toBe(404);
    expect((await request(world.app).get('/api/sink/messages/%ZZ').set(bearer(world.ownerToken))).status).toBe(400);
    // An id that is not a number names no message: 404, as on every route with an id.
    expect((await request(world.app).get('/api/sink/messages/abc').set(bearer(world.ownerToken))).status).toBe(404);
  });
});
