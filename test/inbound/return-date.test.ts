import { findReturnDate } from '../../src/inbound/return-date';

// A Wednesday.
const REFERENCE = new Date('2026-12-02T10:00:00Z');

describe('findReturnDate', () => {
  it.each([
    ['I am out of the office until 14 December and will reply then.', '2026-12-14'],
    ['Back on 2026-12-14.', '2026-12-14'],
    ['I am away, returning Monday 7th.', '2026-12-07'],
    ['I will be back in the office on Monday, December 14.', '2026-12-14'],
    ['Returning Monday.', '2026-12-07'],
    ['Out until Jan 5th.', '2027-01-05'],
    ['Away till 12/20/2026.', '2026-12-20'],
    ['Away till 20/12/2026.', '2026-12-20'],
    ['I am on leave until the 18th of December 2026.', '2026-12-18'],
    ['Ich bin bis zum 14.12. nicht im Büro.', '2026-12-14'],
    ['Ab dem 21. Dezember wieder im Büro. Zurück am 21. Dezember.', '2026-12-21'],
    ['Je serai de retour le 15 décembre.', '2026-12-15'],
    ["Absente jusqu'au 11 décembre inclus.", '2026-12-11'],
    ['Estaré fuera hasta el 14 de diciembre.', '2026-12-14'],
    ['Sono fuori sede fino al 14 dicembre.', '2026-12-14'],
    ['Ik ben terug op 14 december.', '2026-12-14'],
  ])('%s → %s', (text, expected) => {
    expect(findReturnDate(text, REFERENCE)).toBe(expected);
  });

  it.each([
    ['a date order that cannot be told (3/4)', 'Back 3/4.'],
    ['no date after the phrase', 'I am away until further notice.'],
    ['a date long past', 'I was out until 2025-06-01.'],
    ['a date more than a year ahead', 'Back on 2029-01-01.'],
    ['a date with no return phrase before it', 'Our offices close on 24 December.'],
    ['an impossible date', 'Back on 31 February.'],
  ])('says nothing for %s', (_why, text) => {
    expect(findReturnDate(text, REFERENCE)).toBeUndefined();
  });
});
