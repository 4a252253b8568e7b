import crypto from 'node:crypto';
import { CredentialDecryptError, createCredentialCipher } from '../../src/crypto/credential-cipher';

const key = (id: string) => ({ id, key: crypto.randomBytes(32) });

describe('credential cipher', () => {
  const current = key('k2');
  const previous = key('k1');
  const cipher = createCredentialCipher([current, previous]);

  it('round-trips a secret and never shows it in the sealed value', () => {
    const secret = 'smtp-password-Ünïcode-✓';
    const sealed = cipher.encrypt(secret);
    expect(sealed.startsWith('v1.k2.')).toBe(true);
    expect(sealed).not.toContain(secret);
    expect(sealed).not.toContain(Buffer.from(secret).toString('base64url'));
    expect(cipher.decrypt(sealed)).toBe(secret);
  });

  it('uses a fresh random IV for every encryption', () => {
    const a = cipher.encrypt('same');
    const b = cipher.encrypt('same');
    expect(a).not.toBe(b);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });

  it.each([
    ['ciphertext', 4],
    ['authentication tag', 3],
    ['IV', 2],
  ])('detects a tampered %s', (_part, index) => {
    const parts = cipher.encrypt('secret value').split('.');
    const bytes = Buffer.from(parts[index]!, 'base64url');
    bytes[0] = bytes[0]! ^ 0x01;
    parts[index] = bytes.toString('base64url');
    expect(() => cipher.decrypt(parts.join('.'))).toThrow(CredentialDecryptError);
  });

  it('refuses a value moved to another key id', () => {
    const parts = cipher.encrypt('secret value').split('.');
    parts[1] = 'k1';
    expect(() => cipher.decrypt(parts.join('.'))).toThrow(/failed authentication/);
  });

  it('decrypts with an older key after rotation and says the value needs re-encryption', () => {
    const before = createCredentialCipher([previous]);
    const sealed = before.encrypt('refresh-token');
    expect(cipher.needsRotation(sealed)).toBe(true);
    expect(cipher.decrypt(sealed)).toBe('refresh-token');
    expect(cipher.needsRotation(cipher.encrypt('x'))).toBe(false);
  });

  it('refuses unknown key ids and malformed values without echoing them', () => {
    const other = createCredentialCipher([key('k9')]);
    expect(() => cipher.decrypt(other.encrypt('x'))).toThrow(/unknown credential key id "k9"/);
    expect(() => cipher.decrypt('plain-text-password')).toThrow(/not an encrypted credential value/);
    try {
      cipher.decrypt('plain-text-password');
    } catch (error) {
      expect((error as Error).message).not.toContain('plain-text-password');
    }
  });
});
