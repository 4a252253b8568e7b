/**
 * The one writer of a worker's batch in flight. The send lanes (one per transport connection)
 * ask it to mark a row `sending` just before they hand the row over, and give it every result;
 * it writes whatever is pending in one transaction (results first, then marks), so a row is
 * `sending` only while it is on the wire, and N connections cost about one commit per round of
 * N sends instead of two per send. It also renews the lease of the rows it holds while sends
 * are slow, so no sweeper takes a row its worker is still sending.
 *
 * States:
 *   idle ──something pending──▶ writing ──committed──▶ idle (marks resolved)
 *   writing ──database unavailable──▶ waiting for the database: everything pending stays in
 *     memory (at most one batch: the worker claims nothing more meanwhile) and the write is
 *     retried with back-off; no row is marked meanwhile, so nothing new goes on the wire
 *   writing ──any other error──▶ failed: every waiter and flush() reject (a bug is not retried)
 *
 * A retried write may follow a first try that committed before its connection broke: every
 * write is guarded by status and lease token, so the retry changes nothing twice.
 */
import type { Db } from '../db/connection';
import { isDatabaseUnavailable, unavailableRetryDelayMs } from '../db/unavailable';
import { markSending, renewLease, type CandidateRow } from '../queue/queue.repository';
import { recordBreakerSuccess, type BreakerScope } from './circuit-breaker.repository';
import { recordAccepted, recordResult, recordUncertain, type Attempt, type RecordContext } from './result-recorder';
import { writeSentAndMarks } from './send-journal.repository';

export type JournalEntry = { attempt: Attempt } | { uncertain: CandidateRow; response: string; durationMs: number };

export interface JournalLogger {
  info(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
}

export interface SendJournalDeps {
  db: Db;
  ctx: RecordContext;
  /** Every row of the batch (claimed under ctx.leaseToken). */
  rowIds: number[];
  leaseMs: number;
  now: () => Date;
  /** Real-time wait between retries while the database is unavailable. */
  sleep: (ms: number) => Promise<void>;
  logger: JournalLogger;
  /** Called when writes start or stop waiting for the database. */
  onDatabaseWait?: (waiting: boolean, error?: string) => void;
  /** Called at each tick (the worker beats to its parent then); ticks come at most this often. */
  onTick?: () => void;
  tickMs?: number;
}

/**
 * How long a write waits for the other sends on the wire to come back, so one write carries a
 * whole round of connections (their results and their next marks) instead of one each: a
 * commit per round, not per send. Short, so one slow peer holds the others up only that long.
 */
const GATHER_MS = 15;

interface PendingMark {
  id: number;
  resolve: (marked: boolean) => void;
  reject: (error: unknown) => void;
}

export class SendJournal {
  private marks: PendingMark[] = [];
  private entries: JournalEntry[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;
  /** Rows of the batch not yet recorded: the ones whose lease is renewed. */
  private readonly held: Set<number>;
  private lastLeaseWriteMs: number;
  private renewWanted = false;
  private routesClosed = false;
  /** Rows marked and handed to a lane whose result has not come back yet. */
  private onTheWire = 0;
  private gatherTimer: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  sent = 0;

  constructor(private readonly deps: SendJournalDeps) {
    this.held = new Set(deps.rowIds);
    this.lastLeaseWriteMs = Date.now();
    // A third of the lease: a renewal that fails once still leaves time for the next. Sooner
    // when the worker must beat to its parent more often than that.
    this.ticker = setInterval(() => this.tick(), Math.max(1000, Math.min(Math.floor(deps.leaseMs / 3), deps.tickMs ?? Infinity)));
    this.ticker.unref();
  }

  /** Resolves once the row is `sending` under our lease (true), or when it is no longer ours (false). */
  mark(row: CandidateRow): Promise<boolean> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<boolean>((resolve, reject) => {
      this.marks.push({ id: row.id, resolve, reject });
      this.schedule();
    });
  }

  /** Queues a result for the next write (not awaited: flush() waits for all of them). */
  record(entry: JournalEntry): void {
    const id = 'attempt' in entry ? entry.attempt.row.id : entry.uncertain.id;
    this.held.delete(id);
    this.entries.push(entry);
    this.onTheWire = Math.max(0, this.onTheWire - 1);
    this.schedule();
  }

  /** Resolves when everything given so far is written; rejects if the journal failed. */
  async flush(): Promise<void> {
    while (this.writing || this.marks.length > 0 || this.entries.length > 0) {
      if (this.failure) throw this.failure;
      this.schedule();
      await this.writing;
    }
    if (this.failure) throw this.failure;
  }

  close(): void {
    clearInterval(this.ticker);
    clearTimeout(this.gatherTimer);
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  private tick(): void {
    this.deps.onTick?.();
    if (this.held.size > 0 && Date.now() - this.lastLeaseWriteMs >= this.deps.leaseMs / 3) {
      this.renewWanted = true;
      this.schedule();
    }
  }

  private schedule(gathered = false): void {
    if (this.writing || this.failure) return;
    if (this.marks.length === 0 && this.entries.length === 0 && !this.renewWanted) return;
    // Sends still on the wire will want a write too: wait a moment for them (a round per commit).
    if (this.onTheWire > 0 && !gathered) {
      this.gatherTimer ??= setTimeout(() => {
        this.gatherTimer = undefined;
        this.schedule(true);
      }, GATHER_MS);
      return;
    }
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    // Taken a microtask later: a lane that just gave its result asks for its next mark in the
    // same turn, and that mark must ride in this write, not in one of its own.
    this.writing = Promise.resolve()
      .then(() => this.drain())
      .finally(() => {
        this.writing = undefined;
        this.schedule();
      });
  }

  private async drain(): Promise<void> {
    const marks = this.marks.splice(0);
    const entries = this.entries.splice(0);
    const renew = this.renewWanted;
    this.renewWanted = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const marked = await this.write(marks, entries, renew);
        if (attempt > 0) this.deps.onDatabaseWait?.(false);
        this.onTheWire += marks.filter((m) => marked.has(m.id)).length;
        for (const mark of marks) mark.resolve(marked.has(mark.id));
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) {
          this.failure = error;
          for (const mark of [...marks, ...this.marks.splice(0)]) mark.reject(error);
          return;
        }
        if (attempt === 0) {
          this.deps.onDatabaseWait?.(true, (error as Error).message);
          this.deps.logger.warn('database unavailable; results held in memory and retried', { error: (error as Error).message, pending: entries.length });
        }
        await this.deps.sleep(unavailableRetryDelayMs(attempt));
      }
    }
  }

  private async write(marks: PendingMark[], entries: JournalEntry[], renew: boolean): Promise<Set<number>> {
    const { ctx, leaseMs } = this.deps;
    const now = this.deps.now();
    const leaseExpiresAt = new Date(now.getTime() + leaseMs);
    const acceptedOnly = entries.every((e) => 'attempt' in e && e.attempt.result.outcome === 'accepted');
    // The common case (a clean account's accepted sends and next marks, breakers already closed
    // for this batch) is one statement; anything that can change health or state is not.
    const fast = acceptedOnly && ctx.clean && !ctx.probe;
    const { sent, marked } = fast ? await this.writeFast(marks, entries, renew, now, leaseExpiresAt) : await this.writeInTransaction(marks, entries, renew, now, leaseExpiresAt);
    if (entries.length > 0 && accepted(entries)) this.routesClosed = true;
    this.sent += sent;
    if (renew) this.lastLeaseWriteMs = Date.now();
    return marked;
  }

  /** The breakers accepted sends went through: the provider route and their recipient domains. */
  private routeKeys(entries: JournalEntry[]): Array<{ scope: BreakerScope; scopeKey: string }> {
    const domains = new Set<string>();
    for (const e of entries) if ('attempt' in e && e.attempt.result.outcome === 'accepted') domains.add(e.attempt.row.recipient_domain);
    return [{ scope: 'provider', scopeKey: this.deps.ctx.providerKey }, ...[...domains].map((d) => ({ scope: 'recipient_domain' as const, scopeKey: d }))];
  }

  private async writeFast(marks: PendingMark[], entries: JournalEntry[], renew: boolean, now: Date, leaseExpiresAt: Date): Promise<{ sent: number; marked: Set<number> }> {
    const markIds = marks.map((m) => m.id);
    const marking = new Set(markIds);
    const result = await writeSentAndMarks(this.deps.db, {
      accountId: this.deps.ctx.accountId,
      leaseToken: this.deps.ctx.leaseToken,
      now,
      leaseExpiresAt,
      accepted: entries.flatMap((e) => {
        if (!('attempt' in e)) return [];
        const { row, result: r, durationMs } = e.attempt;
        return [
          {
            id: row.id,
            response: r.response,
            durationMs,
            ...(r.code !== undefined ? { code: r.code } : {}),
            ...(r.enhancedCode ? { enhancedCode: r.enhancedCode } : {}),
            ...(r.providerMessageId ? { providerMessageId: r.providerMessageId } : {}),
            ...(r.reason ? { reason: r.reason } : {}),
          },
        ];
      }),
      markIds,
      renewIds: renew ? [...this.held].filter((id) => !marking.has(id)) : [],
      // One success per batch closes the breakers its routes had half-open.
      closeBreakers: this.routesClosed || entries.length === 0 ? [] : this.routeKeys(entries),
    });
    return { sent: result.sent, marked: new Set(result.marked) };
  }

  private async writeInTransaction(marks: PendingMark[], entries: JournalEntry[], renew: boolean, now: Date, leaseExpiresAt: Date): Promise<{ sent: number; marked: Set<number> }> {
    const { db, ctx } = this.deps;
    let marked = new Set<number>();
    let sent = 0;
    await db.transaction().execute(async (tx) => {
      sent = 0;
      const acceptedAttempts: Attempt[] = [];
      for (const entry of entries) if ('attempt' in entry && entry.attempt.result.outcome === 'accepted') acceptedAttempts.push(entry.attempt);
      if (acceptedAttempts.length > 0) {
        sent = await recordAccepted(tx, ctx, acceptedAttempts, now);
        // One success per batch closes the breakers its routes had half-open.
        if (!this.routesClosed) await recordBreakerSuccess(tx, this.routeKeys(entries), now);
      }
      for (const entry of entries) {
        if ('uncertain' in entry) {
          this.deps.logger.warn('transport threw; row recorded unknown', { queueId: entry.uncertain.id, error: entry.response });
          await recordUncertain(tx, ctx, entry.uncertain, `transport error: ${entry.response}`, entry.durationMs, now);
        } else if (entry.attempt.result.outcome !== 'accepted') {
          ctx.clean = false;
          const { result } = entry.attempt;
          const recorded = await recordResult(tx, ctx, entry.attempt, now);
          this.deps.logger.info('send not accepted', {
            queueId: entry.attempt.row.id,
            outcome: result.outcome,
            reason: result.reason,
            code: result.code,
            enhancedCode: result.enhancedCode,
            response: result.response,
            recorded,
          });
        }
      }
      marked = new Set(await markSending(tx, marks.map((m) => m.id), ctx.leaseToken, now, leaseExpiresAt));
      if (renew && this.held.size > 0) await renewLease(tx, [...this.held], ctx.leaseToken, leaseExpiresAt);
    });
    return { sent, marked };
  }
}

function accepted(entries: JournalEntry[]): boolean {
  return entries.some((e) => 'attempt' in e && e.attempt.result.outcome === 'accepted');
}
