/**
 * What a mailbox is doing, as the account API shows it: its warm-up day, today's effective
 * limit and sends, its worker as last reported, why it is not sending and when it next will.
 *
 * Worker states (worker_heartbeats.state, written by the worker and the orchestrator):
 *   starting | sending | waiting | stopping | stopped | inactive | failed
 * with details `{ sent, reason?, until? }`: `reason` is the wait reason code (min_gap,
 * nothing_due, outside_window, limit:account/day, limit:recipient_domain/day, limit:campaign/day,
 * provider_breaker_open, recipient_domain_breaker_open, rows_locked, paused:<reason>,
 * db_unavailable, …) and `until` when the wait ends. A heartbeat older than
 * orchestrator.heartbeatStaleMs is stale: the worker is not known to be running. Unknown
 * states and malformed details are shown as they are, or left out; never an error.
 *
 * Wait reason and next send time, first rule that applies:
 *   1. the account cannot send (not active, and not paused for a probe): none (status and
 *      pauseReason say why);
 *   2. a fresh heartbeat says the worker waits: its reason, until its `until` (when given);
 *   3. paused for a probe, cool-down not over: paused:<reason> until paused_until;
 *   4. today's effective limit used up: limit:account/day until the account's next local midnight;
 *   5. the minimum gap since its last send not over: min_gap until next_send_at;
 *   6. otherwise none: it sends as soon as something is due (the orchestrator starts its
 *      worker when there is work).
 * Rules 3–5 read the account row, so they hold while no worker runs (the orchestrator stops
 * the worker of an account that has reached its limit).
 */
import type { Tunables } from '../config';
import { effectiveDailyLimit, windowEnd } from '../sending/limits';
import { warmupDay } from '../sending/warmup';
import type { AccountActivityRow } from './account-activity.repository';

export interface AccountActivity {
  warmupDay: number | null;
  effectiveDailyLimit: number;
  sentToday: number;
  nextSendAt: Date | null;
  waitReason: string | null;
  worker: { state: string; stale: boolean; lastHeartbeatAt: Date; sent: number | null; nodeId: string | null } | null;
}

export interface ActivitySettings {
  warmup: Tunables['warmup'];
  heartbeatStaleMs: number;
}

export function describeActivity(account: AccountActivityRow, sentToday: number, settings: ActivitySettings, now: Date): AccountActivity {
  // The engine's own limit (sending/limits.ts): the number the claim enforces at `now`.
  const limit = effectiveDailyLimit({ ...account, health_score: Number(account.health_score), deferral_rate_pct: Number(account.deferral_rate_pct) }, settings.warmup, now);
  const beat = account.heartbeat;
  const details = beat && typeof beat.details === 'object' && beat.details !== null ? (beat.details as Record<string, unknown>) : {};
  const stale = beat ? now.getTime() - beat.beat_at.getTime() > settings.heartbeatStaleMs : true;
  const wait = waitOf(account, { stale, state: beat?.state, reason: details.reason, until: details.until }, sentToday, limit, now);
  return {
    warmupDay: account.warmup_started_on === null ? null : warmupDay(account.warmup_started_on, now, account.time_zone),
    effectiveDailyLimit: limit,
    sentToday,
    nextSendAt: wait.until,
    waitReason: wait.reason,
    worker: beat ? { state: beat.state, stale, lastHeartbeatAt: beat.beat_at, sent: typeof details.sent === 'number' ? details.sent : null, nodeId: beat.node_id ?? null } : null,
  };
}

interface ReportedWait {
  stale: boolean;
  state: string | undefined;
  reason: unknown;
  until: unknown;
}

function waitOf(account: AccountActivityRow, reported: ReportedWait, sentToday: number, limit: number, now: Date): { reason: string | null; until: Date | null } {
  const probing = account.status === 'paused' && account.probe_pending;
  if (account.status !== 'active' && !probing) return { reason: null, until: null };
  if (!reported.stale && reported.state === 'waiting' && typeof reported.reason === 'string' && reported.reason !== '') {
    return { reason: reported.reason, until: parseTime(reported.until) };
  }
  if (probing && account.paused_until && account.paused_until > now) return { reason: `paused:${account.pause_reason ?? ''}`, until: account.paused_until };
  if (sentToday >= limit) return { reason: 'limit:account/day', until: windowEnd({ scope: 'account', windowKind: 'day' }, now, account.time_zone) };
  if (account.next_send_at && account.next_send_at > now) return { reason: 'min_gap', until: account.next_send_at };
  return { reason: null, until: null };
}

function parseTime(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}
