/**
 * Tracking, unsubscribe and landing links signed with keys of their own (TRACKING_KEYS or the
 * generated one), rotated without breaking links already sent, and links signed by the
 * previous version with the JWT secret still verifying.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createLandingSigner } from '../../src/sponsors/landing-token';
import { landingSignerFor, trackingSignerFor } from '../../src/tracking/tracking-signer';
import { createTrackingSigner } from '../../src/tracking/tracking-token';

const JWT_SECRET = 'jwt-secret-jwt-secret-jwt-secret-0123456789';
const keyEnv = (id: string, key: Buffer) => `${id}:${key.toString('base64')}`;
const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tracking-keys-'));
const offerId = '0b9d6a3e-1f2a-4c3b-9d8e-7f6a5b4c3d2e';

describe('tracking link keys', () => {
  const a = crypto.randomBytes(32);
  const b = crypto.randomBytes(32);

  it('keeps links signed with an old key working after rotation, and signs new ones with the newest', () => {
    const dataDir = tempDir();
    const before = loadConfig({ DATA_DIR: dataDir, JWT_SECRET, TRACKING_KEYS: keyEnv('a', a) });
    const oldOpen = trackingSignerFor(before).sign({ kind: 'open', queueId: 42 });
    const oldUnsubscribe = trackingSignerFor(before).sign({ kind: 'unsubscribe', queueId: 42 });
    const oldLanding = landingSignerFor(before).sign({ queueId: 42, offerId });

    const after = loadConfig({ DATA_DIR: dataDir, JWT_SECRET, TRACKING_KEYS: `${keyEnv('b', b)},${keyEnv('a', a)}` });
    const signer = trackingSignerFor(after);
    expect(signer.verify(oldOpen, 'open')).toEqual({ kind: 'open', queueId: 42 });
    expect(signer.verify(oldUnsubscribe, 'unsubscribe')).toEqual({ kind: 'unsubscribe', queueId: 42 });
    expect(landingSignerFor(after).verify(oldLanding)).toEqual({ queueId: 42, offerId });

    const fresh = signer.sign({ kind: 'click', queueId: 7, linkId: 3 });
    expect(createTrackingSigner(b, after.baseUrl).verify(fresh, 'click')).toEqual({ kind: 'click', queueId: 7, linkId: 3 });
    expect(createTrackingSigner(a, after.baseUrl).verify(fresh, 'click')).toBeUndefined();
    expect(createTrackingSigner(JWT_SECRET, after.baseUrl).verify(fresh, 'click')).toBeUndefined();

    // Once A is dropped, its links stop verifying: the key list is the one switch.
    const dropped = trackingSignerFor(loadConfig({ DATA_DIR: dataDir, JWT_SECRET, TRACKING_KEYS: keyEnv('b', b) }));
    expect(dropped.verify(oldOpen, 'open')).toBeUndefined();
    expect(dropped.verify(fresh, 'click')).toBeDefined();
  });

  it('still verifies links the previous version signed with the JWT secret, and never signs with it', () => {
    const config = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET, TRACKING_KEYS: keyEnv('a', a) });
    const legacy = createTrackingSigner(JWT_SECRET, config.baseUrl);
    const legacyLanding = createLandingSigner(JWT_SECRET, config.baseUrl);
    expect(trackingSignerFor(config).verify(legacy.sign({ kind: 'unsubscribe', queueId: 9 }), 'unsubscribe')).toEqual({ kind: 'unsubscribe', queueId: 9 });
    expect(landingSignerFor(config).verify(legacyLanding.sign({ queueId: 9, offerId }))).toEqual({ queueId: 9, offerId });
    expect(legacy.verify(trackingSignerFor(config).sign({ kind: 'open', queueId: 9 }), 'open')).toBeUndefined();
    // Another JWT secret: the legacy link is forged as far as this server knows.
    const other = loadConfig({ DATA_DIR: tempDir(), JWT_SECRET: 'another-secret-another-secret-0123456789', TRACKING_KEYS: keyEnv('a', a) });
    expect(trackingSignerFor(other).verify(legacy.sign({ kind: 'open', queueId: 9 }), 'open')).toBeUndefined();
  });

  it('generates a key of its own into secrets.json for the embedded default, and adds one to an older file', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir });
    expect(first.trackingKeys).toHaveLength(1);
    expect(first.trackingKeys[0]?.length).toBe(32);
    expect(loadConfig({ DATA_DIR: dataDir }).trackingKeys).toEqual(first.trackingKeys);
    const stored = JSON.parse(fs.readFileSync(path.join(dataDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(Buffer.from(stored.trackingKey as string, 'base64')).toEqual(first.trackingKeys[0]);

    // A file written by the previous version: no trackingKey. One is added, nothing else changes.
    const olderDir = tempDir();
    const { trackingKey: _dropped, ...older } = stored;
    fs.writeFileSync(path.join(olderDir, 'secrets.json'), JSON.stringify(older), { mode: 0o600 });
    const upgraded = loadConfig({ DATA_DIR: olderDir });
    const rewritten = JSON.parse(fs.readFileSync(path.join(olderDir, 'secrets.json'), 'utf8')) as Record<string, string>;
    expect(rewritten).toMatchObject(older);
    expect(Buffer.from(rewritten.trackingKey as string, 'base64')).toEqual(upgraded.trackingKeys[0]);
    expect(upgraded.jwtSecret).toBe(older.jwtSecret);
    expect(loadConfig({ DATA_DIR: olderDir }).trackingKeys).toEqual(upgraded.trackingKeys);
    expect(fs.readdirSync(olderDir).sort()).toEqual(['node-id', 'secrets.json']);
    expect(fs.statSync(path.join(olderDir, 'secrets.json')).mode & 0o777).toBe(0o600);
    // Links signed by the previous version (JWT secret from that file) still verify after the upgrade.
    const legacy = createTrackingSigner(older.jwtSecret as string, upgraded.baseUrl).sign({ kind: 'open', queueId: 1 });
    expect(trackingSignerFor(upgraded).verify(legacy, 'open')).toEqual({ kind: 'open', queueId: 1 });
  });

  it('refuses a malformed TRACKING_KEYS with a message naming it, and passes it on to workers', () => {
    expect(() => loadConfig({ DATA_DIR: tempDir(), TRACKING_KEYS: 'a:short' })).toThrow(/TRACKING_KEYS: key "a" must be 32 bytes/);
    expect(() => loadConfig({ DATA_DIR: tempDir(), TRACKING_KEYS: 'nonsense' })).toThrow(/TRACKING_KEYS/);
    expect(loadConfig({ DATA_DIR: tempDir(), TRACKING_KEYS: keyEnv('a', a) }).workerEnv.TRACKING_KEYS).toBe(keyEnv('a', a));
  });
});
