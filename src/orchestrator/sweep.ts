/** The sending engine's sweeper, bound to this server's config, for the schedule. */
import type { Config } from '../config';
import { createCredentialCipher } from '../crypto/credential-cipher';
import type { Db } from '../db/connection';
import type { Logger } from '../logger';
import { sweepExpiredLeases, type SweepReport } from '../queue/sweeper';
import { gmailEndpoints, openAccountTransport } from '../sending/account-transport';

export function createSweep(
  config: Config,
  logger: Logger,
  workerMayBeAlive?: (accountIds: string[]) => Promise<Set<string>>,
): (db: Db, now: Date) => Promise<SweepReport> {
  const cipher = createCredentialCipher(config.credentialKeys);
  return async (db, now) => {
    const report = await sweepExpiredLeases(db, now, {
      unknownPolicy: config.sending.unknownPolicy,
      maxSendMs: config.sending.maxSendMs,
      reconcileGraceMs: config.sending.reconcileGraceMs,
      ...(workerMayBeAlive ? { workerMayBeAlive } : {}),
      // Accounts of the dev sink (the embedded default) reconcile from the mail the sink captured.
      transportFor: (accountId) => openAccountTransport(db, accountId, cipher, { ...gmailEndpoints(config), ...(config.sink.enabled ? { db, sink: { host: config.sink.host, port: config.sink.port } } : {}) }),
      logger,
    });
    if (report.requeuedClaims + report.markedUnknown + report.reconciledSent + report.requeuedUnknown + report.held + report.lookupFailed > 0) {
      logger.info('sweeper recovered expired claims', { ...report });
    }
    return report;
  };
}
