/**
 * The server's LISTEN connection for account, campaign and queue changes (workers never
 * LISTEN). It outlives database restarts and outages: a lost connection is replaced, with a
 * growing delay while the database stays away.
 *
 * States: connecting → listening → (connection lost) waiting (retryMinMs, doubling up to
 * retryMaxMs) → connecting …; stopped, from any state, for good.
 *
 * A notification sent while the connection was down is lost for good, so every connection
 * made after a loss is reported through onResumed: the owner then reconciles as if told about
 * everything.
 */
import pg from 'pg';
import type { Logger } from '../logger';

export interface ChangeListenerOptions {
  connectionString: string;
  channel: string;
  applicationName: string;
  logger: Logger;
  onNotification(payload: string | undefined): void;
  /** Listening again after the connection was lost (or could not be made at start). */
  onResumed(): void;
  retryMinMs?: number;
  retryMaxMs?: number;
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private readonly dropped = new WeakSet<pg.Client>();
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;

  constructor(private readonly options: ChangeListenerOptions) {}

  get listening(): boolean {
    return this.client !== undefined;
  }

  /** Connects and LISTENs; a failure is logged and retried in the background, never thrown. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { connectionString, applicationName, channel } = this.options;
    const client = new pg.Client({ connectionString, application_name: applicationName });
    // Kept for the client's whole life: an 'error' event without a listener ends the process.
    client.on('error', (error) => this.drop(client, error));
    client.on('end', () => this.drop(client, new Error('connection ended')));
    client.on('notification', (message) => this.options.onNotification(message.payload));
    try {
      await client.connect();
      await client.query(`listen ${channel}`);
    } catch (error) {
      this.drop(client, error as Error);
      return;
    }
    if (this.stopped || this.dropped.has(client)) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    if (this.failures > 0) {
      this.options.logger.info('LISTEN connection re-established', { channel, attempts: this.failures });
      this.failures = 0;
      this.options.onResumed();
    }
  }

  /** Once per client: forget it and, unless stopped, try again after a while. */
  private drop(client: pg.Client, error: Error): void {
    if (this.dropped.has(client)) return;
    this.dropped.add(client);
    if (this.client === client) this.client = undefined;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    const minMs = this.options.retryMinMs ?? 1000;
    const delayMs = Math.min(this.options.retryMaxMs ?? 10_000, minMs * 2 ** this.failures);
    const details = { channel: this.options.channel, error: error.message, retryInMs: delayMs };
    if (this.failures === 0) this.options.logger.warn('LISTEN connection lost; relying on the reconcile interval until it is back', details);
    else this.options.logger.debug('LISTEN connection still unavailable', details);
    this.failures += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) {
      this.dropped.add(client);
      await client.end().catch(() => undefined);
    }
  }
}
