/**
 * The sequence editor: steps with subject, HTML and text bodies and the delay after the
 * previous step (days and hours), added, removed and moved; each field shows its template
 * problems next to it: those the server found while typing (template-check) and the
 * server's validation issues after a save.
 */
import type { TemplateField, TemplateProblem } from './campaign-model';
import { Button } from './ui';

export interface StepDraft {
  /** Stable key for rendering while steps move. */
  key: number;
  subject: string;
  bodyHtml: string;
  bodyText: string;
  delayDays: number;
  delayHours: number;
}

let nextKey = 1;
export const newStepDraft = (fields: Partial<Omit<StepDraft, 'key'>> = {}): StepDraft => ({ key: nextKey++, subject: '', bodyHtml: '', bodyText: '', delayDays: 0, delayHours: 0, ...fields });
export const stepDraftFrom = (step: { subject: string; bodyHtml: string; bodyText: string; delayMinutes: number }): StepDraft =>
  newStepDraft({ subject: step.subject, bodyHtml: step.bodyHtml, bodyText: step.bodyText, delayDays: Math.floor(step.delayMinutes / 1440), delayHours: Math.floor((step.delayMinutes % 1440) / 60) });
export const stepBody = (s: StepDraft) => ({ subject: s.subject, bodyHtml: s.bodyHtml, bodyText: s.bodyText, delayMinutes: s.delayDays * 1440 + s.delayHours * 60 });

const FIELD_LABELS: Record<TemplateField, string> = { subject: 'Subject', bodyHtml: 'HTML body', bodyText: 'Text body' };

function FieldProblems({ id, problems, issue }: { id: string; problems: TemplateProblem[]; issue: string | undefined }) {
  if (problems.length === 0 && !issue) return null;
  return (
    <ul id={id} class="problems">
      {issue && <li class="problem-error">{issue}</li>}
      {problems.map((p, index) => (
        <li key={index} class={p.severity === 'error' ? 'problem-error' : 'problem-warning'}>
          {p.severity === 'error' ? 'Error' : 'Warning'}: {p.message}
        </li>
      ))}
    </ul>
  );
}

export function StepsEditor({
  steps,
  onChange,
  problems,
  issueFor,
  readOnly,
  canRemove,
}: {
  steps: StepDraft[];
  onChange: (steps: StepDraft[]) => void;
  /** Template problems per step index. */
  problems: TemplateProblem[][];
  /** The server's validation issue for a path like "steps.1.subject". */
  issueFor: (path: string) => string | undefined;
  readOnly: boolean;
  /** A started campaign may edit and add steps, not remove or reorder them. */
  canRemove: boolean;
}) {
  const update = (index: number, change: Partial<StepDraft>) => onChange(steps.map((s, i) => (i === index ? { ...s, ...change } : s)));
  const move = (index: number, by: number) => {
    const next = [...steps];
    const [moved] = next.splice(index, 1);
    if (moved) next.splice(index + by, 0, moved);
    onChange(next);
  };
  const stepsIssue = issueFor('steps');

  return (
    <fieldset>
      <legend>Steps</legend>
      {stepsIssue && !steps.some((_, i) => issueFor(`steps.${i}`)) && <p class="field-error">{stepsIssue}</p>}
      {steps.map((step, index) => {
        const stepProblems = problems[index] ?? [];
        const n = index + 1;
        const fieldId = (field: string) => `step-${step.key}-${field}`;
        const textField = (field: TemplateField, multiline: boolean) => {
          const fieldProblems = stepProblems.filter((p) => p.field === field);
          const issue = issueFor(`steps.${index}.${field}`);
          const invalid = issue !== undefined || fieldProblems.some((p) => p.severity === 'error');
          const describedBy = fieldProblems.length || issue ? `${fieldId(field)}-problems` : undefined;
          const common = {
            id: fieldId(field),
            value: step[field],
            readOnly,
            'aria-invalid': invalid ? ('true' as const) : undefined,
            'aria-describedby': describedBy,
            onInput: (event: { currentTarget: HTMLInputElement | HTMLTextAreaElement }) => update(index, { [field]: event.currentTarget.value }),
          };
          return (
            <div class={`field${invalid ? ' field-invalid' : ''}`}>
              <label for={fieldId(field)}>
                Step {n} {FIELD_LABELS[field].toLowerCase()}
              </label>
              {multiline ? <textarea {...common} rows={field === 'bodyHtml' ? 6 : 4} /> : <input type="text" {...common} />}
              <FieldProblems id={`${fieldId(field)}-problems`} problems={fieldProblems} issue={issue} />
            </div>
          );
        };
        return (
          <section key={step.key} class="step" aria-label={`Step ${n}`}>
            <div class="step-header">
              <h3>Step {n}</h3>
              {!readOnly && (
                <div class="page-actions">
                  <Button disabled={index === 0 || !canRemove} onClick={() => move(index, -1)} aria-label={`Move step ${n} up`}>
                    ↑ Up
                  </Button>
                  <Button disabled={index === steps.length - 1 || !canRemove} onClick={() => move(index, 1)} aria-label={`Move step ${n} down`}>
                    ↓ Down
                  </Button>
                  <Button kind="danger" disabled={steps.length === 1 || !canRemove} onClick={() => onChange(steps.filter((_, i) => i !== index))} aria-label={`Remove step ${n}`}>
                    Remove
                  </Button>
                </div>
              )}
            </div>
            {index > 0 && (
              <div class="toolbar">
                <div class="field">
                  <label for={fieldId('days')}>Step {n} delay after step {index}: days</label>
                  <input id={fieldId('days')} type="number" min={0} max={365} value={step.delayDays} readOnly={readOnly} onInput={(event) => update(index, { delayDays: Math.max(0, Number(event.currentTarget.value) || 0) })} />
                </div>
                <div class="field">
                  <label for={fieldId('hours')}>hours</label>
                  <input id={fieldId('hours')} type="number" min={0} max={23} value={step.delayHours} readOnly={readOnly} onInput={(event) => update(index, { delayHours: Math.max(0, Number(event.currentTarget.value) || 0) })} />
                </div>
                {issueFor(`steps.${index}.delayMinutes`) && <p class="field-error">{issueFor(`steps.${index}.delayMinutes`)}</p>}
              </div>
            )}
            {textField('subject', false)}
            {textField('bodyHtml', true)}
            {textField('bodyText', true)}
          </section>
        );
      })}
      {!readOnly && (
        <Button onClick={() => onChange([...steps, newStepDraft({ delayDays: 2 })])} disabled={steps.length >= 20}>
          Add step
        </Button>
      )}
      <p class="muted">
        Placeholders: {'{{first_name}}'}, {'{{company|your team}}'} (with a fallback), spintax {'{Hi|Hello}'}.
      </p>
    </fieldset>
  );
}
