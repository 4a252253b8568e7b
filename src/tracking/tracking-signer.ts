/**
 * The signers of a running server's recipient-facing links (tracking, unsubscribe, offer
 * landing pages), rooted at BASE_URL. Message building and the public endpoints must both use
 * these, or links would not verify.
 *
 * Keys: TRACKING_KEYS (or the key generated into DATA_DIR/secrets.json), the first signing and
 * all verifying; then the JWT secret, verify-only, because versions before TRACKING_KEYS
 * signed with it and that mail is still in people's inboxes. Rotating the JWT secret therefore
 * ends those old links; rotating tracking keys ends nothing while the old key stays listed.
 */
import type { Config } from '../config';
import type { SigningSecret } from '../crypto/hmac-key-ring';
import { createLandingSigner, type LandingSigner } from '../sponsors/landing-token';
import { createTrackingSigner, type TrackingSigner } from './tracking-token';

type SignerConfig = Pick<Config, 'trackingKeys' | 'jwtSecret' | 'baseUrl'>;

/** The ring in order: newest tracking key (signs), older tracking keys, the legacy JWT secret. */
export function linkSigningSecrets(config: Pick<Config, 'trackingKeys' | 'jwtSecret'>): SigningSecret[] {
  return [...config.trackingKeys, config.jwtSecret];
}

export function trackingSignerFor(config: SignerConfig): TrackingSigner {
  return createTrackingSigner(linkSigningSecrets(config), config.baseUrl);
}

export function landingSignerFor(config: SignerConfig): LandingSigner {
  return createLandingSigner(linkSigningSecrets(config), config.baseUrl);
}
