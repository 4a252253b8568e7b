/**
 * Warm-up: a new mailbox may send only a little per day at first, more each day. The curve is
 * the account's own `warmup_curve` when set, else config `warmup.curve`; after the listed days
 * the limit grows by `growthPctPerDay` per day (0 = warm-up is over: no warm-up cap).
 *
 * Days are calendar days in the account's time zone (`time_zone`, UTC when absent or unknown):
 * the warm-up advances at the account's local midnight, when its daily limit renews (limits.ts).
 * Day 0 is `warmup_started_on`, the local date the account was first activated (set by the
 * account API and CSV import, or given there for a mailbox that is already warm); an account
 * never activated has none and is held at day 0 until it is.
 *
 * Curve formats: "20,40,80" (limit per day since the start), "20+20%" (20, then +20 %/day),
 * "20+50" (20, then +50/day).
 *
 * Deferrals slow the warm-up down: while more than DEFERRAL_SLOWDOWN_THRESHOLD_PCT (10 %) of
 * the account's recent attempts were deferred (transient results over the health window: the
 * last health.bounceWindowSends attempts of its current health period, kept on the account as
 * deferral_rate_pct by the result recorder), today's curve value is cut by
 * warmup.deferralSlowdownPct (50 → half; 0 turns the slowdown off). It lifts by itself once
 * accepted sends bring the rate back down. Only a warm-up cap is cut: an account past its
 * warm-up (or without one) is slowed by the health factor alone (limits.ts).
 */
import { localDateString, zoneOrUtc } from './sending-window';

export interface WarmupSettings {
  curve: string;
  growthPctPerDay: number;
  /** % cut from today's curve value while deferrals run high; 0 or absent = no slowdown. */
  deferralSlowdownPct?: number;
}

export interface WarmupAccount {
  warmup_enabled: boolean;
  warmup_curve: string | null;
  /** 'YYYY-MM-DD', a local date in `time_zone`; null = not started (never activated): day 0. */
  warmup_started_on: string | null;
  /** IANA zone whose midnight starts a new warm-up day; absent = UTC. */
  time_zone?: string;
  /** Deferred share (0–100) of the recent attempts; absent = unknown, no slowdown. */
  deferral_rate_pct?: number;
}

/** Deferral rate (%) above which the warm-up slows down. */
export const DEFERRAL_SLOWDOWN_THRESHOLD_PCT = 10;

const DAY_MS = 86_400_000;

export interface WarmupCurve {
  days: number[];
  growthPctPerDay: number;
  growthPerDay: number;
}

export function parseWarmupCurve(text: string, growthPctPerDay = 0): WarmupCurve {
  const trimmed = text.replace(/\s+/g, '');
  const growth = /^(\d+)\+(\d+(?:\.\d+)?)(%?)$/.exec(trimmed);
  if (growth) {
    const start = Number(growth[1]);
    const step = Number(growth[2]);
    return growth[3] === '%' ? { days: [start], growthPctPerDay: step, growthPerDay: 0 } : { days: [start], growthPctPerDay: 0, growthPerDay: step };
  }
  if (!/^\d+(,\d+)*$/.test(trimmed)) throw new Error(`invalid warm-up curve "${text}": expected "20,40,80", "20+20%" or "20+50"`);
  return { days: trimmed.split(',').map(Number), growthPctPerDay, growthPerDay: 0 };
}

/** Whole calendar days in `timeZone` from the warm-up start to `now` (never negative). */
export function warmupDay(startedOn: string | null, now: Date, timeZone = 'UTC'): number {
  if (!startedOn) return 0;
  const start = Date.parse(`${startedOn}T00:00:00Z`);
  if (Number.isNaN(start)) return 0;
  // Both dates read as UTC midnights: whole days between them, whatever the zone's DST does.
  const today = Date.parse(`${localDateString(now, zoneOrUtc(timeZone))}T00:00:00Z`);
  return Math.max(0, Math.floor((today - start) / DAY_MS));
}

/** The start date that makes `now` warm-up day `day` in `timeZone`: today's local date minus `day` days. */
export function warmupStartForDay(day: number, now: Date, timeZone = 'UTC'): string {
  const today = Date.parse(`${localDateString(now, zoneOrUtc(timeZone))}T00:00:00Z`);
  return new Date(today - day * DAY_MS).toISOString().slice(0, 10);
}

/** The warm-up cap for `now` after the deferral slowdown, or Infinity when warm-up is off or complete. */
export function warmupDailyLimit(account: WarmupAccount, settings: WarmupSettings, now: Date): number {
  const curveLimit = warmupCurveLimit(account, settings, now);
  const slowdownPct = Math.min(100, Math.max(0, settings.deferralSlowdownPct ?? 0));
  if (!Number.isFinite(curveLimit) || slowdownPct === 0 || !((account.deferral_rate_pct ?? 0) > DEFERRAL_SLOWDOWN_THRESHOLD_PCT)) return curveLimit;
  return Math.floor((curveLimit * (100 - slowdownPct)) / 100);
}

/** Today's value of the curve, before any slowdown; Infinity when warm-up is off or complete. */
export function warmupCurveLimit(account: WarmupAccount, settings: WarmupSettings, now: Date): number {
  if (!account.warmup_enabled) return Infinity;
  let curve: WarmupCurve;
  try {
    curve = parseWarmupCurve(account.warmup_curve ?? settings.curve, account.warmup_curve ? 0 : settings.growthPctPerDay);
  } catch {
    // A bad per-account curve must not lift the cap: fall back to the configured one.
    curve = parseWarmupCurve(settings.curve, settings.growthPctPerDay);
  }
  const day = warmupDay(account.warmup_started_on, now, account.time_zone);
  const listed = curve.days[day];
  if (listed !== undefined) return listed;
  const last = curve.days[curve.days.length - 1] ?? 0;
  const beyond = day - (curve.days.length - 1);
  if (curve.growthPerDay > 0) return Math.floor(last + curve.growthPerDay * beyond);
  if (curve.growthPctPerDay > 0) return Math.floor(last * (1 + curve.growthPctPerDay / 100) ** beyond);
  return Infinity;
}
