/**
 * The return date an out-of-office message states ("I am out of the office until 14 December",
 * "back on 2026-12-14", "returning Monday 3rd", "bis zum 14.12.", "de retour le 15 décembre",
 * "hasta el 14 de diciembre", "fino al 14 dicembre", "terug op 14 december"), as YYYY-MM-DD.
 *
 * Only a date right after a phrase that announces the return is taken, never any date in the
 * text; an ambiguous numeric date (3/4 could be either order), a date in the past or more than a
 * year ahead gives undefined: the caller then waits its configured delay instead.
 */

const MONTHS: Record<string, number> = {};
const monthNames: Array<[number, string[]]> = [
  [1, ['january', 'jan', 'januar', 'jänner', 'janvier', 'enero', 'gennaio', 'januari']],
  [2, ['february', 'feb', 'februar', 'février', 'fevrier', 'febrero', 'febbraio', 'februari']],
  [3, ['march', 'mar', 'märz', 'maerz', 'mars', 'marzo', 'maart']],
  [4, ['april', 'apr', 'avril', 'abril', 'aprile']],
  [5, ['may', 'mai', 'mayo', 'maggio', 'mei']],
  [6, ['june', 'jun', 'juni', 'juin', 'junio', 'giugno']],
  [7, ['july', 'jul', 'juli', 'juillet', 'julio', 'luglio']],
  [8, ['august', 'aug', 'août', 'aout', 'agosto', 'augustus']],
  [9, ['september', 'sep', 'sept', 'septembre', 'septiembre', 'setiembre', 'settembre']],
  [10, ['october', 'oct', 'oktober', 'octobre', 'octubre', 'ottobre', 'okt']],
  [11, ['november', 'nov', 'novembre', 'noviembre']],
  [12, ['december', 'dec', 'dezember', 'dez', 'décembre', 'decembre', 'diciembre', 'dicembre']],
];
for (const [month, names] of monthNames) for (const name of names) MONTHS[name] = month;

const WEEKDAYS: Record<string, number> = {};
const weekdayNames: Array<[number, string[]]> = [
  [0, ['sunday', 'sun', 'sonntag', 'dimanche', 'domingo', 'domenica', 'zondag']],
  [1, ['monday', 'mon', 'montag', 'lundi', 'lunes', 'lunedì', 'lunedi', 'maandag']],
  [2, ['tuesday', 'tue', 'tues', 'dienstag', 'mardi', 'martes', 'martedì', 'martedi', 'dinsdag']],
  [3, ['wednesday', 'wed', 'mittwoch', 'mercredi', 'miércoles', 'miercoles', 'mercoledì', 'mercoledi', 'woensdag']],
  [4, ['thursday', 'thu', 'thur', 'thurs', 'donnerstag', 'jeudi', 'jueves', 'giovedì', 'giovedi', 'donderdag']],
  [5, ['friday', 'fri', 'freitag', 'vendredi', 'viernes', 'venerdì', 'venerdi', 'vrijdag']],
  [6, ['saturday', 'sat', 'samstag', 'samedi', 'sábado', 'sabado', 'sabato', 'zaterdag']],
];
for (const [day, names] of weekdayNames) for (const name of names) WEEKDAYS[name] = day;

const WORD = '[a-zà-ÿ]+';
/** Phrases after which the return date follows, in English, German, French, Spanish, Italian, Dutch. */
const TRIGGER = new RegExp(
  [
    String.raw`\buntil\b`,
    String.raw`\btill\b`,
    String.raw`\bback\b(?: in(?: the)? office| at (?:work|my desk)| in the office)?(?: on| from)?`,
    String.raw`\breturn(?:ing)?\b(?: to (?:the )?(?:office|work))?(?: on)?`,
    String.raw`\bwill be (?:back|in|available)(?: (?:again|in the office))?(?: on| from)?`,
    String.raw`\bbis\b(?: (?:zum|einschließlich|einschl\.|inkl\.|am))?`,
    String.raw`\b(?:zurück|wieder(?: im büro| erreichbar| da)?)(?![a-zà-ÿ])(?: (?:am|ab))?(?: dem)?`,
    String.raw`\bjusqu['’](?:au|à)`,
    String.raw`\b(?:de )?retour\b(?: au bureau)?(?: le)?`,
    String.raw`\bhasta\b(?: el)?`,
    String.raw`\b(?:de vuelta|regreso|regresaré|volveré)(?![a-zà-ÿ])(?: el)?`,
    String.raw`\bfino al\b`,
    String.raw`\b(?:rientro|rientrerò|di ritorno)(?![a-zà-ÿ])(?: (?:il|in ufficio))?`,
    String.raw`\btot(?: en met)?\b`,
    String.raw`\bterug\b(?: op)?`,
  ].join('|'),
  'g',
);

const FILLER = /^\s*(?:(?:on|the|le|el|il|dem|den|der|zum|am|op|de)\s+)?/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})\b/;
const NUMERIC = /^(\d{1,2})([./])(\d{1,2})(?:\2(\d{2}(?:\d{2})?))?(?!\d)/;
const DAY_MONTH = new RegExp(String.raw`^(\d{1,2})(?:st|nd|rd|th|er|\.|º)?(?:\s+(?:of|de|di))?\s+(${WORD})\.?(?:,?\s+(\d{4}))?`);
const MONTH_DAY = new RegExp(String.raw`^(${WORD})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?!\d)(?:,?\s+(\d{4}))?`);
const LEADING_WORD = new RegExp(String.raw`^(${WORD})\.?,?\s*`);
const DAY_NUMBER = /^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th|er|\.)?(?!\d)/;

const DAY_MS = 86_400_000;

function utcDay(year: number, month: number, day: number): Date | undefined {
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date : undefined;
}

/** A month and day without a year: the next such date, allowing a week back (a late reply). */
function withYear(month: number, day: number, year: number | undefined, reference: Date): Date | undefined {
  if (year !== undefined) return utcDay(year < 100 ? 2000 + year : year, month, day);
  const thisYear = utcDay(reference.getUTCFullYear(), month, day);
  if (thisYear && thisYear.getTime() >= reference.getTime() - 7 * DAY_MS) return thisYear;
  return utcDay(reference.getUTCFullYear() + 1, month, day);
}

/** A calendar date at the start of `text`: ISO, numeric, day month or month day. */
function calendarDate(text: string, reference: Date): Date | undefined {
  let match = ISO.exec(text);
  if (match) return utcDay(Number(match[1]), Number(match[2]), Number(match[3]));

  match = NUMERIC.exec(text);
  if (match) {
    const [first, second] = [Number(match[1]), Number(match[3])];
    const year = match[4] !== undefined ? Number(match[4]) : undefined;
    // "14.12." is always day.month; with slashes only an impossible month tells the order.
    if (match[2] === '.' || first > 12) return withYear(second, first, year, reference);
    if (second > 12) return withYear(first, second, year, reference);
    return undefined;
  }

  match = DAY_MONTH.exec(text);
  const dayMonth = match ? MONTHS[match[2] as string] : undefined;
  if (match && dayMonth) return withYear(dayMonth, Number(match[1]), match[3] ? Number(match[3]) : undefined, reference);

  match = MONTH_DAY.exec(text);
  const monthDay = match ? MONTHS[match[1] as string] : undefined;
  if (match && monthDay) return withYear(monthDay, Number(match[2]), match[3] ? Number(match[3]) : undefined, reference);
  return undefined;
}

/** The first day after the reference that is this weekday (and this day of the month, when given). */
function nextWeekday(weekday: number, dayOfMonth: number | undefined, reference: Date): Date | undefined {
  for (let ahead = 1; ahead <= 366; ahead++) {
    const candidate = new Date(Date.UTC(reference.getUTCFullYear(), reference.getUTCMonth(), reference.getUTCDate() + ahead));
    if (candidate.getUTCDay() === weekday && (dayOfMonth === undefined || candidate.getUTCDate() === dayOfMonth)) return candidate;
  }
  return undefined;
}

function dateAt(window: string, reference: Date): Date | undefined {
  const text = window.replace(FILLER, '');
  const date = calendarDate(text, reference);
  if (date) return date;
  // "Monday, December 14" / "Monday 14th" / "Monday": a full date after the weekday wins.
  const word = LEADING_WORD.exec(text);
  const weekday = word ? WEEKDAYS[word[1] as string] : undefined;
  if (!word || weekday === undefined) return undefined;
  const rest = text.slice(word[0].length);
  const full = calendarDate(rest, reference);
  if (full) return full;
  const day = DAY_NUMBER.exec(rest);
  return nextWeekday(weekday, day ? Number(day[1]) : undefined, reference);
}

/** The stated return date as YYYY-MM-DD, or undefined when none is stated clearly. */
export function findReturnDate(text: string, reference: Date): string | undefined {
  const lower = text.slice(0, 4000).toLowerCase().replace(/\s+/g, ' ');
  for (const trigger of lower.matchAll(TRIGGER)) {
    const start = (trigger.index ?? 0) + trigger[0].length;
    const date = dateAt(lower.slice(start, start + 60), reference);
    if (!date) continue;
    const sinceReference = date.getTime() - Date.UTC(reference.getUTCFullYear(), reference.getUTCMonth(), reference.getUTCDate());
    if (sinceReference < -DAY_MS || sinceReference > 366 * DAY_MS) continue;
    return date.toISOString().slice(0, 10);
  }
  return undefined;
}
