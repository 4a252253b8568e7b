/** Small building blocks every page uses, so pages look and behave alike. */
import type { ComponentChildren, JSX } from 'preact';
import { ApiError } from '../api';

export function PageHeader({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <header class="page-header">
      <h1>{title}</h1>
      <div class="page-actions">{children}</div>
    </header>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const text = error instanceof ApiError ? error.describe() : error instanceof Error ? error.message : String(error);
  return (
    <div class="banner banner-error" role="alert">
      {text}
    </div>
  );
}

export function Notice({ children, kind = 'info' }: { children: ComponentChildren; kind?: 'info' | 'warn' | 'ok' }) {
  return (
    <div class={`banner banner-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p class="muted" aria-live="polite">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

type ButtonProps = JSX.HTMLAttributes<HTMLButtonElement> & { kind?: 'primary' | 'danger' | 'plain'; busy?: boolean; disabled?: boolean; type?: 'button' | 'submit' };
export function Button({ kind = 'plain', busy, children, type = 'button', disabled, ...rest }: ButtonProps) {
  return (
    <button type={type} class={`btn btn-${kind}`} disabled={disabled || busy} aria-busy={busy ? 'true' : undefined} {...rest}>
      {children}
    </button>
  );
}

/** A labelled form control; `hint` and `error` are tied to it for screen readers. */
export function Field({ label, id, hint, error, children }: { label: string; id: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <div class={`field${error ? ' field-invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint && (
        <small id={`${id}-hint`} class="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} class="field-error">
          {error}
        </small>
      )}
    </div>
  );
}

const STATUS_TONE: Record<string, string> = {
  active: 'ok', running: 'ok', sent: 'ok', completed: 'ok', resolved: 'ok', pass: 'ok', listed: 'bad', sending: 'info',
  paused: 'warn', draft: 'muted', scheduled: 'info', held: 'warn', retrying: 'warn', waiting: 'muted', queued: 'muted',
  suspended: 'bad', crashed: 'bad', failed: 'bad', bounced: 'bad', disabled: 'muted', cancelled: 'muted', open: 'bad', fail: 'bad',
};
export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span class="muted">—</span>;
  return <span class={`badge badge-${STATUS_TONE[status] ?? 'muted'}`}>{status}</span>;
}

export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** "in 4 min", "2 h ago": for next-send and last-seen columns. */
export function formatRelative(value: string | null | undefined, now = Date.now()): string {
  if (!value) return '—';
  const seconds = Math.round((new Date(value).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const [amount, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86_400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86_400), 'd'];
  return seconds >= 0 ? `in ${amount} ${unit}` : `${amount} ${unit} ago`;
}

export const formatNumber = (n: number | null | undefined): string => (n === null || n === undefined ? '—' : n.toLocaleString());
export const formatPercent = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '—');

/** Copies text to the clipboard, saying so for screen readers. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  return (
    <button
      type="button"
      class="btn btn-plain btn-small"
      onClick={async (event) => {
        const button = event.currentTarget;
        try {
          await navigator.clipboard.writeText(text);
          button.textContent = 'Copied';
        } catch {
          button.textContent = 'Select and copy';
        }
        setTimeout(() => (button.textContent = label), 1500);
      }}
    >
      {label}
    </button>
  );
}
