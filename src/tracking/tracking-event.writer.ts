/**
 * Opens and clicks are buffered in memory and written in batches off the request path: a
 * pixel answers without waiting for Postgres, and thousands of opens become a few inserts.
 *
 * A batch is written when `batchSize` events are waiting or every `flushMs`, and on stop().
 * A failed write puts the batch back (up to `maxBuffered` events in all; beyond that the
 * oldest are dropped and counted) and it is tried again at the next flush, so a database
 * restart or outage loses nothing while the buffer holds it. Only a batch the database
 * rejects for its data (SQLSTATE class 22/23: no retry can succeed) is dropped, so it cannot
 * hold up every event behind it. Events still buffered when stop() cannot write them are
 * reported as lost.
 */
import type { Db } from '../db/connection';
import { isPermanentDataError } from '../http/db-errors';
import type { Logger } from '../logger';
import { insertClickEvents, insertOpenEvents, type TrackedClick, type TrackedEvent } from './tracking-event.repository';

export interface TrackingEventWriterOptions {
  db: Db;
  logger: Logger;
  flushMs: number;
  batchSize: number;
  maxBuffered: number;
  scannerClickWindowSeconds: number;
}

export interface TrackingEventWriter {
  recordOpen(event: TrackedEvent): void;
  recordClick(event: TrackedClick): void;
  /** Writes everything buffered so far; resolves when it is stored (or has failed and been re-buffered). */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  stop(): Promise<void>;
  stats(): { buffered: number; written: number; dropped: number };
}

export function createTrackingEventWriter(options: TrackingEventWriterOptions): TrackingEventWriter {
  const { db, logger, batchSize, maxBuffered } = options;
  let opens: TrackedEvent[] = [];
  let clicks: TrackedClick[] = [];
  let written = 0;
  let dropped = 0;
  let stopped = false;
  let flushQueued = false;
  /** A write failed and none has succeeded since: later failures are not logged again. */
  let failing = false;
  // One flush at a time, chained, so stop() waits for the one in flight.
  let chain: Promise<void> = Promise.resolve();

  const timer = setInterval(() => void flush(), options.flushMs);
  timer.unref();

  function trim<T>(events: T[]): T[] {
    const excess = events.length - maxBuffered;
    if (excess <= 0) return events;
    dropped += excess;
    return events.slice(excess);
  }

  async function writeBatches<T>(events: T[], insert: (batch: T[]) => Promise<number>, requeue: (batch: T[]) => void): Promise<void> {
    for (let i = 0; i < events.length; i += batchSize) {
      const batch = events.slice(i, i + batchSize);
      try {
        written += await insert(batch);
        if (failing) logger.info('tracking events written again', { buffered: opens.length + clicks.length + events.length - i - batch.length });
        failing = false;
      } catch (error) {
        if (isPermanentDataError(error)) {
          dropped += batch.length;
          logger.error('tracking events rejected by the database; dropped', { count: batch.length, error: (error as Error).message });
          continue;
        }
        if (!failing) logger.warn('tracking events not written; keeping them for the next flush', { count: events.length - i, error: (error as Error).message });
        failing = true;
        requeue(events.slice(i));
        return;
      }
    }
  }

  function flush(): Promise<void> {
    flushQueued = true;
    chain = chain.then(async () => {
      flushQueued = false;
      if (opens.length === 0 && clicks.length === 0) return;
      const takenOpens = opens;
      const takenClicks = clicks;
      opens = [];
      clicks = [];
      await writeBatches(takenOpens, (b) => insertOpenEvents(db, b), (rest) => (opens = trim([...rest, ...opens])));
      await writeBatches(
        takenClicks,
        (b) => insertClickEvents(db, b, options.scannerClickWindowSeconds),
        (rest) => (clicks = trim([...rest, ...clicks])),
      );
    });
    return chain;
  }

  return {
    recordOpen(event) {
      opens.push(event);
      if (opens.length > maxBuffered) opens = trim(opens);
      if (opens.length >= batchSize && !flushQueued && !stopped) void flush();
    },
    recordClick(event) {
      clicks.push(event);
      if (clicks.length > maxBuffered) clicks = trim(clicks);
      if (clicks.length >= batchSize && !flushQueued && !stopped) void flush();
    },
    flush,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await flush();
      const lost = opens.length + clicks.length;
      if (lost > 0) logger.error('tracking events lost at stop: the database did not take them', { opens: opens.length, clicks: clicks.length });
    },
    stats: () => ({ buffered: opens.length + clicks.length, written, dropped }),
  };
}
