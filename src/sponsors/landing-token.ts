/**
 * Offer landing pages for a recipient: `/l/<token>`, the token naming the queue row (who was
 * mailed) and the offer, HMAC-signed like tracking tokens but with a key of its own.
 *
 * A campaign links to an offer with the plain URL `<BASE_URL>/l/offer/<offerId>`; that link is
 * stored and tracked like any other, and the click endpoint turns it into the signed,
 * per-recipient landing URL (so the form can be prefilled and the lead credited to the send).
 *
 * Format: `l<queueId>-<offerId as 32 hex>.<sig>`; sig = base64url(HMAC-SHA256(key, payload))[0..22].
 */
import { createHmacKeyRing, type SigningSecret } from '../crypto/hmac-key-ring';

const SIGNATURE_CHARS = 22;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface LandingPayload {
  queueId: number;
  offerId: string;
}

export interface LandingSigner {
  sign(payload: LandingPayload): string;
  verify(token: string): LandingPayload | undefined;
  landingUrl(queueId: number, offerId: string): string;
  /** The untracked-per-recipient link a campaign author puts in a step for an offer. */
  offerLinkUrl(offerId: string): string;
  /** The offer id when `url` is an offer link of this server. */
  parseOfferLink(url: string): string | undefined;
}

export function createLandingSigner(secrets: SigningSecret | SigningSecret[], baseUrl: string): LandingSigner {
  const ring = createHmacKeyRing(secrets, 'outreach-landing-v1', SIGNATURE_CHARS);
  const root = baseUrl.replace(/\/+$/, '');
  const offerLinkPrefix = `${root}/l/offer/`;

  const sign = ({ queueId, offerId }: LandingPayload) => {
    const payload = `l${queueId}-${offerId.replace(/-/g, '').toLowerCase()}`;
    return `${payload}.${ring.sign(payload)}`;
  };

  return {
    sign,
    verify(token) {
      const match = /^l(\d{1,15})-([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$/.exec(token);
      if (!match) return undefined;
      if (!ring.verify(token.slice(0, token.lastIndexOf('.')), match[3] ?? '')) return undefined;
      const hex = match[2] ?? '';
      const offerId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
      return { queueId: Number(match[1]), offerId };
    },
    landingUrl: (queueId, offerId) => `${root}/l/${sign({ queueId, offerId })}`,
    offerLinkUrl: (offerId) => `${offerLinkPrefix}${offerId}`,
    parseOfferLink(url) {
      if (!url.startsWith(offerLinkPrefix)) return undefined;
      const id = url.slice(offerLinkPrefix.length);
      return UUID.test(id) ? id.toLowerCase() : undefined;
    },
  };
}
