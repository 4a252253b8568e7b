/**
 * Signed tokens in recipient-facing URLs: open pixel `/t/o/<token>.gif`, click `/t/c/<token>`,
 * unsubscribe `/u/<token>` (GET page, RFC 8058 one-click POST). A token names only ids (the
 * queue row, and for clicks the stored link); the signature is an HMAC so a forged or
 * altered token is refused, and a click target is always looked up server-side.
 *
 * Format: `<kind><queueId>[-<linkId>].<sig>`; sig = base64url(HMAC-SHA256(key, payload))[0..22],
 * key = HMAC-SHA256(secret, "outreach-tracking-v1") for each secret of the ring (the first
 * signs, all verify: see ../crypto/hmac-key-ring.ts).
 */
import { createHmacKeyRing, type SigningSecret } from '../crypto/hmac-key-ring';

export type TrackingKind = 'open' | 'click' | 'unsubscribe';

const KIND_PREFIX: Record<TrackingKind, string> = { open: 'o', click: 'c', unsubscribe: 'u' };
const SIGNATURE_CHARS = 22; // 132 bits

export interface TrackingPayload {
  kind: TrackingKind;
  queueId: number;
  linkId?: number;
}

export interface TrackingSigner {
  sign(payload: TrackingPayload): string;
  /** The payload, or undefined when the token is malformed, of another kind, or forged. */
  verify(token: string, kind: TrackingKind): TrackingPayload | undefined;
  openUrl(queueId: number): string;
  clickUrl(queueId: number, linkId: number): string;
  unsubscribeUrl(queueId: number): string;
}

export function createTrackingSigner(secrets: SigningSecret | SigningSecret[], baseUrl: string): TrackingSigner {
  // A key of its own per secret, so tracking and any other use of a secret never share one.
  const ring = createHmacKeyRing(secrets, 'outreach-tracking-v1', SIGNATURE_CHARS);
  const root = baseUrl.replace(/\/+$/, '');

  const sign = ({ kind, queueId, linkId }: TrackingPayload) => {
    const payload = `${KIND_PREFIX[kind]}${queueId}${kind === 'click' ? `-${linkId}` : ''}`;
    return `${payload}.${ring.sign(payload)}`;
  };

  return {
    sign,
    verify(token, kind) {
      const match = /^([ocu])(\d{1,15})(?:-(\d{1,15}))?\.([A-Za-z0-9_-]{22})$/.exec(token);
      if (!match || match[1] !== KIND_PREFIX[kind] || (kind === 'click') !== (match[3] !== undefined)) return undefined;
      if (!ring.verify(token.slice(0, token.lastIndexOf('.')), match[4] ?? '')) return undefined;
      return { kind, queueId: Number(match[2]), ...(match[3] ? { linkId: Number(match[3]) } : {}) };
    },
    openUrl: (queueId) => `${root}/t/o/${sign({ kind: 'open', queueId })}.gif`,
    clickUrl: (queueId, linkId) => `${root}/t/c/${sign({ kind: 'click', queueId, linkId })}`,
    unsubscribeUrl: (queueId) => `${root}/u/${sign({ kind: 'unsubscribe', queueId })}`,
  };
}
