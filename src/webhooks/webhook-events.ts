/**
 * What a verified webhook body holds, read the same way when the request is checked (a body
 * that cannot be read is a 400 there, before it is stored) and when the stored body is
 * processed: feedback events for applyFeedbackEvent, and for SNS a subscription to confirm.
 */
import type { WebhookProvider } from '../db/database';
import type { FeedbackEvent } from '../inbound/feedback-event';
import { mailgunEvents } from './mailgun';
import { sendgridEvents } from './sendgrid';
import { sesEvents } from './ses-events';
import { snsMessageSchema, subscribeUrl, type SnsMessage } from './sns';

/** A feedback event as a provider reports it; the client comes from the endpoint. */
export type ProviderEvent = Omit<FeedbackEvent, 'clientId' | 'accountId'>;

export interface DeliveryContents {
  events: ProviderEvent[];
  /** SNS SubscriptionConfirmation: the (host-checked) URL that confirms it. */
  subscribe?: URL;
  /** SNS UnsubscribeConfirmation: the topic that no longer posts here. */
  unsubscribedTopic?: string;
}

/** JSON.parse that says where: every provider posts JSON (SNS as text/plain). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new SyntaxError('the body is not valid JSON');
  }
}

export function snsMessageOf(body: Buffer): SnsMessage {
  return snsMessageSchema.parse(parseJson(body));
}

export function deliveryContents(provider: WebhookProvider, body: Buffer): DeliveryContents {
  switch (provider) {
    case 'ses': {
      const message = snsMessageOf(body);
      if (message.Type === 'SubscriptionConfirmation') {
        const url = subscribeUrl(message);
        if (!url) throw new TypeError('the SubscribeURL is not on the topic’s SNS host');
        return { events: [], subscribe: url };
      }
      if (message.Type === 'UnsubscribeConfirmation') return { events: [], unsubscribedTopic: message.TopicArn };
      return { events: sesEvents(message) };
    }
    case 'sendgrid':
      return { events: sendgridEvents(parseJson(body)) };
    case 'mailgun':
      return { events: mailgunEvents(parseJson(body)) };
  }
}
