/**
 * Spreadsheet formula injection: a cell starting with = + - @ (or tab/CR, which some
 * spreadsheets skip before evaluating) is run as a formula when the export is opened. Such
 * cells get a leading apostrophe so they are shown as text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export function spreadsheetSafe(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}
