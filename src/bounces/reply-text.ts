/**
 * Reads a receiving server's answer into what the table matches on: reply code, RFC 3463
 * enhanced code, severity and one normalised line of text. Accepts an SMTP reply as nodemailer
 * reports it (multi-line, "550-5.1.1 …\n550 5.1.1 …"), a DSN Diagnostic-Code ("smtp; 550 5.1.1
 * …" with folded continuation lines, or "X-Postfix; unknown user"), or an ESP event's bare
 * description.
 */
import type { SendStage } from '../transports/transport';

export type ReplySeverity = 'success' | 'temporary' | 'permanent';

export interface ReplyInput {
  /** SMTP reply code; read from the start of the text when absent. */
  code?: number;
  /** RFC 3463 enhanced status such as "5.1.1" (a DSN's Status:); read from the text when absent. */
  enhancedCode?: string;
  text: string;
  stage?: SendStage;
}

export interface ReadReply {
  code?: number;
  enhancedCode?: string;
  severity: ReplySeverity;
  /** One line: diagnostic type, reply codes and enhanced codes at line starts removed. */
  text: string;
  stage?: SendStage;
}

const DIAGNOSTIC_TYPE = /^\s*(?:smtp|x-[a-z0-9-]+)\s*;\s*/i;
const LEADING_CODE = /^(\d{3})(?=[\s-]|$)/;
const LEADING_ENHANCED = /^\d{3}[ -]\s*([245]\.\d{1,3}\.\d{1,3})(?![\d.])/;
// Not part of a dotted IP address or a version number.
const ANY_ENHANCED = /(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])/;
const LINE_PREFIX = /^\d{3}(?:[ -]|$)\s*(?:[245]\.\d{1,3}\.\d{1,3}(?![\d.])\s*)?/;
const VALID_ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** The first enhanced status code of a reply: right after the reply code, else anywhere. */
export function parseEnhancedCode(text: string): string | undefined {
  const body = text.replace(DIAGNOSTIC_TYPE, '').trimStart();
  return LEADING_ENHANCED.exec(body)?.[1] ?? ANY_ENHANCED.exec(body)?.[1];
}

export function parseReplyCode(text: string): number | undefined {
  const match = LEADING_CODE.exec(text.replace(DIAGNOSTIC_TYPE, '').trimStart());
  return match ? Number(match[1]) : undefined;
}

/** Joins a multi-line reply into one line without the "550-5.7.1" prefixes that split phrases. */
export function normaliseReplyText(text: string): string {
  return text
    .replace(DIAGNOSTIC_TYPE, '')
    .split(/\r?\n/)
    .map((line) => line.trim().replace(LINE_PREFIX, ''))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * 2xx success, 4xx temporary, 5xx permanent; a code outside those is no valid final answer and
 * reads as temporary (try again later). With no reply code the enhanced code's class decides;
 * with neither, the answer reads as permanent: a text alone comes from a DSN or an ESP event,
 * which report failures.
 */
export function severityOf(code: number | undefined, enhancedCode: string | undefined): ReplySeverity {
  const digit = code !== undefined ? Math.floor(code / 100) : enhancedCode !== undefined ? Number(enhancedCode[0]) : 5;
  if (digit === 2) return 'success';
  if (digit === 5) return 'permanent';
  return 'temporary';
}

export function readReply(input: ReplyInput): ReadReply {
  const code = input.code ?? parseReplyCode(input.text);
  const given = input.enhancedCode?.trim();
  const enhancedCode = given && VALID_ENHANCED.test(given) ? given : parseEnhancedCode(input.text);
  return {
    ...(code !== undefined ? { code } : {}),
    ...(enhancedCode !== undefined ? { enhancedCode } : {}),
    severity: severityOf(code, enhancedCode),
    text: normaliseReplyText(input.text),
    ...(input.stage !== undefined ? { stage: input.stage } : {}),
  };
}
