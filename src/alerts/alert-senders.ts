/**
 * One message to one channel. Telegram (Bot API sendMessage under alerts.telegramApiBaseUrl),
 * Slack (the incoming-webhook URL, stored encrypted), a generic webhook (JSON signed like lead
 * deliveries: X-Outreach-Signature t=<unix>,v1=HMAC-SHA256(secret, "<t>.<body>")) and e-mail
 * (the configured relay, or the dev sink). HTTP goes through the lead poster, so a webhook
 * URL is held to the same SSRF guard (delivery-address.ts); the configured Telegram and Slack
 * hosts are trusted. Each sender resolves on success and throws with the reason otherwise.
 */
import nodemailer from 'nodemailer';
import type { Selectable } from 'kysely';
import type { Config } from '../config';
import type { CredentialCipher } from '../crypto/credential-cipher';
import type { AlertChannelsTable, AlertsTable } from '../db/database';
import { hostOf } from '../sponsors/delivery-address';
import { signDelivery } from '../sponsors/lead-delivery.service';
import type { LeadPoster } from '../sponsors/lead-poster';
import { alertSubject, alertText, alertWebhookBody } from './alert-message';

export interface AlertMessage {
  deliveryId: number;
  event: 'raised' | 'resolved' | 'test';
  alert: Selectable<AlertsTable> | undefined;
  channel: Selectable<AlertChannelsTable>;
  now: Date;
}

export interface AlertSenderOptions {
  config: Config;
  cipher: CredentialCipher;
  post: LeadPoster;
  timeoutMs: number;
}

/** Hosts reached without the public-address check: the operator configured them. */
export function trustedAlertHosts(config: Config): string[] {
  return [hostOf(new URL(config.alerts.telegramApiBaseUrl)), hostOf(new URL(config.alerts.slackWebhookUrlPrefix)), ...config.alerts.webhookHostAllowList];
}

function setting(channel: Selectable<AlertChannelsTable>, key: string): string {
  const value = (channel.settings as Record<string, unknown>)[key];
  if (typeof value !== 'string' || value === '') throw new Error(`channel has no ${key}`);
  return value;
}

function secretOf(channel: Selectable<AlertChannelsTable>, cipher: CredentialCipher): string {
  if (!channel.secret_encrypted) throw new Error('channel has no secret');
  return cipher.decrypt(channel.secret_encrypted);
}

async function postJson(url: string, body: string, headers: Record<string, string>, options: AlertSenderOptions): Promise<void> {
  const status = await options.post(url, { headers: { 'Content-Type': 'application/json', 'User-Agent': 'outreach-alerts/1', ...headers }, body, signal: AbortSignal.timeout(options.timeoutMs) });
  if (status < 200 || status > 299) throw new Error(`answered HTTP ${status}`);
}

export async function sendAlertMessage(message: AlertMessage, options: AlertSenderOptions): Promise<void> {
  const { channel, event, alert } = message;
  const text = alertText(event, alert);
  switch (channel.kind) {
    case 'telegram': {
      const base = options.config.alerts.telegramApiBaseUrl.replace(/\/+$/, '');
      const url = `${base}/bot${secretOf(channel, options.cipher)}/sendMessage`;
      return postJson(url, JSON.stringify({ chat_id: setting(channel, 'chatId'), text, disable_web_page_preview: true }), {}, options);
    }
    case 'slack':
      return postJson(secretOf(channel, options.cipher), JSON.stringify({ text }), {}, options);
    case 'webhook': {
      const body = alertWebhookBody(message.deliveryId, event, alert, message.now);
      const signature = signDelivery(secretOf(channel, options.cipher), body, Math.floor(message.now.getTime() / 1000));
      const id = String(message.deliveryId);
      return postJson(setting(channel, 'url'), body, { 'X-Outreach-Signature': signature, 'X-Outreach-Delivery-Id': id, 'Idempotency-Key': id }, options);
    }
    case 'email': {
      const { alerts, sink } = options.config;
      const host = alerts.emailSmtpHost || (sink.enabled ? sink.host : '');
      if (!host) throw new Error('no SMTP relay configured (alerts.emailSmtpHost)');
      const transport = nodemailer.createTransport({ host, port: alerts.emailSmtpHost ? alerts.emailSmtpPort : sink.port, secure: false, connectionTimeout: options.timeoutMs, socketTimeout: options.timeoutMs });
      try {
        await transport.sendMail({ from: alerts.emailFrom, to: setting(channel, 'to'), subject: alertSubject(event, alert), text });
      } finally {
        transport.close();
      }
      return;
    }
  }
}
