/**
 * Bulk actions on the selected mailboxes: pause, resume, or new limits (daily, hourly,
 * minimum gap; an empty field is left as it is). One request (POST /api/accounts/bulk) for
 * all of them; the answer is per id, and the ones not changed are named with why.
 */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { useAction } from '../components/use-api';
import { Button, ErrorBanner } from '../components/ui';
import type { Account } from './fleet-model';

interface BulkAnswer {
  updated: number;
  results: Array<{ id: string; result: string; error?: { code: string; message: string } }>;
}

export function FleetBulkBar({ selected, onDone }: { selected: Account[]; onDone: (message: string) => Promise<void> }) {
  const action = useAction();
  const [limits, setLimits] = useState({ dailyLimit: '', hourlyLimit: '', minGapSeconds: '' });
  const none = selected.length === 0;

  const apply = async (changes: Record<string, unknown>, verb: string) => {
    const answer = await action.run(() => api.post<BulkAnswer>('/accounts/bulk', { ids: selected.map((a) => a.id), changes }));
    if (!answer) return;
    const email = new Map(selected.map((a) => [a.id, a.email]));
    const refused = answer.results.filter((r) => r.result !== 'updated').map((r) => `${email.get(r.id) ?? r.id}: ${r.error?.message ?? r.result}`);
    await onDone(`${verb} ${answer.updated} of ${selected.length} mailboxes${refused.length ? `. Not changed: ${refused.join('; ')}` : ''}`);
  };

  const limitChanges = () => {
    const changes: Record<string, number> = {};
    for (const [key, text] of Object.entries(limits)) if (text.trim() !== '') changes[key] = Number(text);
    return changes;
  };

  return (
    <div class="fleet-bulk" role="group" aria-label="Bulk actions on selected mailboxes">
      <Button disabled={none} busy={action.busy} onClick={() => void apply({ status: 'paused' }, 'Paused')}>
        Pause selected
      </Button>
      <Button disabled={none} busy={action.busy} onClick={() => void apply({ status: 'active' }, 'Resumed')}>
        Resume selected
      </Button>
      {(
        [
          ['dailyLimit', 'Daily limit'],
          ['hourlyLimit', 'Hourly limit'],
          ['minGapSeconds', 'Min gap (s)'],
        ] as const
      ).map(([key, label]) => (
        <div class="field" key={key}>
          <label for={`bulk-${key}`}>{label}</label>
          <input id={`bulk-${key}`} type="number" min={0} inputMode="numeric" value={limits[key]} onInput={(e) => setLimits({ ...limits, [key]: e.currentTarget.value })} />
        </div>
      ))}
      <Button
        kind="primary"
        disabled={none || Object.keys(limitChanges()).length === 0}
        busy={action.busy}
        onClick={async () => {
          await apply(limitChanges(), 'Changed the limits of');
          setLimits({ dailyLimit: '', hourlyLimit: '', minGapSeconds: '' });
        }}
      >
        Apply limits
      </Button>
      <ErrorBanner error={action.error} />
    </div>
  );
}
