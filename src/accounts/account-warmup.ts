/**
 * When an account's warm-up starts. `warmup_started_on` is day 0 of its curve
 * (sending/warmup.ts), a local date in the account's zone:
 *
 *   - set when the account is first activated: at creation when it is created active (the
 *     default), or the first time its status becomes active later; pauses and resumes after
 *     that never move it (a paused mailbox keeps the reputation it built);
 *   - or given by the caller for a mailbox that is already warm, at creation or later:
 *     `warmupStartedOn: 'YYYY-MM-DD'`, or `warmupDay: N` (today minus N days). This moves it,
 *     since the operator says so (e.g. `warmupDay: 0` to warm a burnt mailbox up again).
 *
 * A start in the future of the account's zone is refused: it would hold the account at day 0
 * with no sign of why.
 */
import type { FieldIssue } from '../http/validation';
import { localDateString, zoneOrUtc } from '../sending/sending-window';
import { warmupStartForDay } from '../sending/warmup';

export interface WarmupStartInput {
  warmupStartedOn?: string;
  warmupDay?: number;
}

/** Today's local date in the account's zone: the start of a warm-up that begins now. */
export function activationDate(now: Date, timeZone: string | undefined): string {
  return localDateString(now, zoneOrUtc(timeZone));
}

/**
 * The start the caller asked for (undefined when they gave none), or the issues that make it
 * unusable, each naming its field. `timeZone` is the account's zone after the request.
 */
export function requestedWarmupStart(input: WarmupStartInput, timeZone: string | undefined, now: Date): { startedOn?: string; issues: FieldIssue[] } {
  const zone = zoneOrUtc(timeZone);
  const today = activationDate(now, zone);
  const issues: FieldIssue[] = [];
  if (input.warmupStartedOn !== undefined && input.warmupStartedOn > today) {
    issues.push({ path: 'warmupStartedOn', message: `must not be in the future (today is ${today} in ${zone})` });
  }
  const fromDay = input.warmupDay === undefined ? undefined : warmupStartForDay(input.warmupDay, now, zone);
  if (fromDay !== undefined && input.warmupStartedOn !== undefined && fromDay !== input.warmupStartedOn) {
    issues.push({ path: 'warmupDay', message: `does not match warmupStartedOn (day ${input.warmupDay} starts on ${fromDay} in ${zone})` });
  }
  if (issues.length > 0) return { issues };
  const startedOn = input.warmupStartedOn ?? fromDay;
  return startedOn === undefined ? { issues } : { startedOn, issues };
}
