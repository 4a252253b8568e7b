/**
 * What is wrong with a template (template.ts's language), and where: read the same way the
 * renderer reads it, so whatever it reports is exactly what would otherwise go out literally.
 *
 * Errors (a step holding one is refused when saved, a campaign holding one cannot start, and a
 * worker fails its rows rather than send a literal "{Hi|Hello"):
 *   unclosed_spintax    a "{" never closed: "{Hi|Hello there"
 *   unopened_brace      a "}" closing nothing
 *   unclosed_variable   a "{{" with no "}}": "{{first_name"
 *   invalid_variable    "{{…}}" that is not {{field}} or {{field|fallback}}: "{{first name}}"
 * Warnings (saved; listed by the preview):
 *   empty_alternative   a spintax choice that is empty: "{Hi||Hello}" (sends nothing for it,
 *                       which "{very |}" uses on purpose)
 *   missing_value       (preview, per contact) {{field}} without fallback that the contact has
 *                       no value for: it renders as nothing
 */
import { fieldValue, type ContactFields } from './template';

export type TemplateProblemCode = 'unclosed_spintax' | 'unopened_brace' | 'unclosed_variable' | 'invalid_variable' | 'empty_alternative' | 'missing_value';

export interface TemplatePosition {
  /** 0-based offset in the text. */
  index: number;
  /** 1-based line and column. */
  line: number;
  column: number;
}

export interface TemplateProblem {
  code: TemplateProblemCode;
  severity: 'error' | 'warning';
  message: string;
  position: TemplatePosition;
  /** The variable concerned (missing_value). */
  variable?: string;
}

const VARIABLE = /^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*(?:\|([^{}]*?))?\s*$/;
const WARNINGS = new Set<TemplateProblemCode>(['empty_alternative', 'missing_value']);

export function positionOf(text: string, index: number): TemplatePosition {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { index, line, column: index - before.lastIndexOf('\n') };
}

function problem(text: string, index: number, code: TemplateProblemCode, message: string, variable?: string): TemplateProblem {
  const position = positionOf(text, index);
  return { code, severity: WARNINGS.has(code) ? 'warning' : 'error', message: `${message} (line ${position.line}, column ${position.column})`, position, ...(variable ? { variable } : {}) };
}

interface OpenGroup {
  index: number;
  /** Start of the choice being read. */
  choiceStart: number;
  isSpintax: boolean;
  emptyChoices: number[];
}

/** Every problem of a template's syntax, in order of position. */
export function templateProblems(text: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const open: OpenGroup[] = [];
  const endChoice = (group: OpenGroup, at: number) => {
    if (text.slice(group.choiceStart, at).trim() === '') group.emptyChoices.push(group.choiceStart);
  };
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i + 2);
      if (end < 0) {
        problems.push(problem(text, i, 'unclosed_variable', '"{{" is never closed with "}}"'));
        break;
      }
      if (!VARIABLE.test(text.slice(i + 2, end))) problems.push(problem(text, i, 'invalid_variable', `"${text.slice(i, end + 2)}" is not {{field}} or {{field|fallback}}`));
      i = end + 1;
      continue;
    }
    const ch = text[i];
    const group = open[open.length - 1];
    if (ch === '{') {
      open.push({ index: i, choiceStart: i + 1, isSpintax: false, emptyChoices: [] });
    } else if (ch === '}') {
      if (!group) {
        problems.push(problem(text, i, 'unopened_brace', '"}" closes no "{"'));
        continue;
      }
      open.pop();
      if (!group.isSpintax) continue;
      endChoice(group, i);
      for (const at of group.emptyChoices) problems.push(problem(text, at, 'empty_alternative', 'a spintax choice is empty'));
    } else if (ch === '|' && group) {
      group.isSpintax = true;
      endChoice(group, i);
      group.choiceStart = i + 1;
    }
  }
  for (const group of open) problems.push(problem(text, group.index, 'unclosed_spintax', `"${text.slice(group.index, group.index + 20)}${text.length > group.index + 20 ? '…' : ''}" opens with "{" and is never closed with "}"`));
  return problems.sort((a, b) => a.position.index - b.position.index);
}

export const templateErrors = (text: string): TemplateProblem[] => templateProblems(text).filter((p) => p.severity === 'error');

/** Variables without a fallback this contact has no value for: they render as nothing. */
export function missingValues(text: string, contact: ContactFields): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const match of text.matchAll(/\{\{([^{}]*)\}\}/g)) {
    const parsed = VARIABLE.exec(match[1] ?? '');
    const variable = parsed?.[1];
    if (!variable || parsed[2] !== undefined || fieldValue(contact, variable) !== '') continue;
    problems.push(problem(text, match.index, 'missing_value', `{{${variable}}} has no fallback and this contact has no value for it: it renders as nothing`, variable));
  }
  return problems;
}
