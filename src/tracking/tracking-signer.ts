/**
 * The one tracking signer of a running server: keyed by the server secret (jwtSecret; the
 * signer derives its own key from it) and rooted at BASE_URL. Message building and the
 * tracking endpoints must both use this, or links would not verify.
 */
import type { Config } from '../config';
import { createTrackingSigner, type TrackingSigner } from './tracking-token';

export function trackingSignerFor(config: Pick<Config, 'jwtSecret' | 'baseUrl'>): TrackingSigner {
  return createTrackingSigner(config.jwtSecret, config.baseUrl);
}
