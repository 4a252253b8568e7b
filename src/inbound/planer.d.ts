/** planer (MIT, a port of Mailgun's talon) ships no types; the one function we use. */
declare module 'planer' {
  /** The reply's own lines of a plain-text message, quoted history and "On … wrote:" removed. */
  export function extractFromPlain(body: string): string;
}
