/**
 * Sink transport: the SMTP transport pointed at the local dev sink (sink-server.ts). With a
 * database handle it can also answer findSent from the captured mail, so `unknown` rows of the
 * embedded default reconcile like Gmail ones.
 */
import type { DbOrTx } from '../db/connection';
import { sinkHasMessageId } from './sink-message.repository';
import { createSmtpTransport } from './smtp.transport';
import type { Transport } from './transport';

export interface SinkTransportOptions {
  host: string;
  port: number;
  maxConnections?: number;
  maxSendMs?: number;
  db?: DbOrTx;
}

export function createSinkTransport(options: SinkTransportOptions): Transport {
  const smtp = createSmtpTransport({ host: options.host, port: options.port, maxConnections: options.maxConnections ?? 1, ...(options.maxSendMs ? { maxSendMs: options.maxSendMs } : {}) });
  return {
    kind: 'sink',
    maxInFlight: smtp.maxInFlight,
    send: (message) => smtp.send(message),
    findSent: async (messageId) => (options.db ? sinkHasMessageId(options.db, messageId) : undefined),
    verify: () => smtp.verify(),
    close: () => smtp.close(),
  };
}
