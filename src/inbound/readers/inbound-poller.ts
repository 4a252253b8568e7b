/**
 * The inbox reading pool: one loop per server (not the send workers, which exit when idle and
 * hold nothing between sends), reading every readable mailbox once per
 * inbound.pollIntervalSeconds, at most inbound.concurrency at a time.
 *
 * Each tick (every second) it claims as many due mailboxes as it has free slots
 * (inbound-mailbox.repository.ts: a database claim, so nodes sharing one Postgres never read
 * one mailbox at once, and any node reads any mailbox), reads each with its reader, hands
 * what it reads to `deliver` (ingestion) and records the outcome: a success clears the
 * mailbox's error, a failure of the mailbox (login refused, server unreachable) is kept as its
 * last error, with a warning alert after inbound.alertAfterFailures in a row. A delivery
 * failure (ingestion or the database) is logged and retried next poll, not held against the
 * mailbox. New readable mailboxes are picked up every minute, spread over the interval.
 */
import type { CredentialCipher } from '../../crypto/credential-cipher';
import type { Db } from '../../db/connection';
import { isDatabaseUnavailable } from '../../db/unavailable';
import type { Logger } from '../../logger';
import type { DeliverInbound } from './inbound-delivery';
import { addReadableMailboxes, claimDueMailboxes, finishPoll, raiseReadAlert, resolveReadAlert, saveCursor, type ClaimedMailbox } from './inbound-mailbox.repository';
import { InboundDeliveryError, MailboxReadError, type ReaderLimits } from './mailbox-reader';
import { mailboxSource, type GmailEndpoints } from './mailbox-source';

const TICK_MS = 1_000;
const ADD_MAILBOXES_EVERY_MS = 60_000;
/** The claim outlives the poll's own deadline by this much, so a poll never runs unclaimed. */
const CLAIM_MARGIN_MS = 30_000;

export interface InboxReadingSettings extends ReaderLimits {
  enabled: boolean;
  pollIntervalSeconds: number;
  /** Mailboxes whose account sent within activeWindowMinutes: its bounces are on their way. */
  activePollIntervalSeconds: number;
  activeWindowMinutes: number;
  concurrency: number;
  initialLookbackHours: number;
  alertAfterFailures: number;
}

export interface InboundPollerOptions {
  db: Db;
  nodeId: string;
  settings: InboxReadingSettings;
  cipher: CredentialCipher;
  deliver: DeliverInbound;
  logger: Logger;
  /** Test/emulator overrides for the Gmail API root and token endpoint. */
  gmail?: GmailEndpoints;
}

export class InboundPoller {
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private again = false;
  private lastAddedAt = 0;
  private stopped = false;
  private readonly logger: Logger;

  constructor(private readonly options: InboundPollerOptions) {
    this.logger = options.logger.child({ component: 'inbound-poller' });
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /** Polls in progress right now. */
  get busy(): number {
    return this.inFlight.size;
  }

  /**
   * One round: new mailboxes (once a minute), then claim and start polls for the free slots.
   * Never overlaps itself: asked for during a round, it runs one more after it. A poll that ends
   * asks for one, so a freed slot is filled at once rather than at the next second.
   */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = this.runTick()
      .catch((error: unknown) => {
        if (isDatabaseUnavailable(error)) this.logger.warn('inbound tick skipped: database unavailable', { error: (error as Error).message });
        else this.logger.error('inbound tick failed', { error: (error as Error).message });
      })
      .finally(() => {
        this.ticking = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.tick();
        }
      });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    const { db, nodeId, settings } = this.options;
    const intervalMs = settings.pollIntervalSeconds * 1000;
    if (Date.now() - this.lastAddedAt >= ADD_MAILBOXES_EVERY_MS) {
      const added = await addReadableMailboxes(db, intervalMs, settings.initialLookbackHours * 3_600_000);
      this.lastAddedAt = Date.now();
      if (added > 0) this.logger.info('mailboxes to read added', { count: added });
    }
    const free = settings.concurrency - this.inFlight.size;
    const claimed = await claimDueMailboxes(db, nodeId, free, {
      intervalMs,
      activeIntervalMs: Math.min(intervalMs, settings.activePollIntervalSeconds * 1000),
      activeWindowMs: settings.activeWindowMinutes * 60_000,
      claimMs: settings.pollTimeoutMs + CLAIM_MARGIN_MS,
    });
    for (const mailbox of claimed) {
      const poll = this.poll(mailbox).finally(() => {
        this.inFlight.delete(poll);
        if (!this.stopped) void this.tick();
      });
      this.inFlight.add(poll);
    }
  }

  /**
   * Ticks until nothing is due and no poll is running (tests and the benchmark: "read every
   * mailbox that is due now"), with the new-mailbox pass first.
   */
  async drain(): Promise<void> {
    this.lastAddedAt = 0;
    for (;;) {
      await this.tick();
      while (this.ticking) await this.ticking;
      if (this.inFlight.size === 0) return;
      await Promise.race(this.inFlight);
    }
  }

  private async poll(mailbox: ClaimedMailbox): Promise<void> {
    const { db, nodeId, settings, cipher, deliver } = this.options;
    let error: string | undefined;
    let countFailure = false;
    let label = mailbox.accountId ? `account ${mailbox.accountId}` : `domain ${mailbox.domainId}`;
    try {
      const source = await mailboxSource(db, mailbox, cipher, this.options.gmail);
      if (!source) return;
      label = source.label;
      const result = await source.read({
        cursor: mailbox.cursor,
        limits: settings,
        deliver: async (message) => {
          try {
            await deliver({ accountId: source.accountId, source: source.source, sourceKey: `${source.keyPrefix}${message.sourceKey}`, raw: message.raw, receivedAt: message.receivedAt, truncated: message.truncated });
          } catch (cause) {
            throw new InboundDeliveryError(`delivery failed: ${(cause as Error).message}`);
          }
        },
        saveCursor: (cursor) => saveCursor(db, mailbox.id, nodeId, cursor),
      });
      if (result.read > 0) this.logger.info('inbound mail read', { mailbox: label, messages: result.read });
    } catch (caught) {
      error = (caught as Error).message;
      countFailure = caught instanceof MailboxReadError;
      if (countFailure) this.logger.warn('mailbox could not be read', { mailbox: label, error });
      else this.logger.error('inbound poll failed', { mailbox: label, error });
    } finally {
      await this.finish(mailbox, error, countFailure).catch((caught: unknown) => this.logger.error('inbound poll outcome not recorded', { mailbox: label, error: (caught as Error).message }));
    }
  }

  private async finish(mailbox: ClaimedMailbox, error: string | undefined, countFailure: boolean): Promise<void> {
    const { db, nodeId, settings } = this.options;
    const failures = await finishPoll(db, mailbox.id, nodeId, { ...(error !== undefined ? { error } : {}), countFailure });
    if (countFailure && error !== undefined && failures === settings.alertAfterFailures) await raiseReadAlert(db, mailbox, failures, error);
    if (error === undefined) await resolveReadAlert(db, mailbox.id);
  }

  /** Stops claiming and waits for the polls in progress (each bounded by inbound.pollTimeoutMs). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    while (this.ticking) await this.ticking;
    await Promise.allSettled([...this.inFlight]);
  }
}
