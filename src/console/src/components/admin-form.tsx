/**
 * Shared pieces of the admin pages (inbox, alerts, domains, suppressions, users, clients,
 * sponsors): forms that show the API's validation issues next to their fields, a two-step
 * confirm for destructive buttons (no window.confirm: it blocks the page and screen readers
 * handle an in-page button better), and offset-paged lists with "load more".
 */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, getAll, type Query } from '../api';
import { Button, Field } from './ui';

/** The server's `details.issues` by field path ("" and unknown paths stay in the general message). */
export function issuesByField(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const out: Record<string, string> = {};
  for (const issue of error.details?.issues ?? []) if (issue.path && !out[issue.path]) out[issue.path] = issue.message;
  return out;
}

export interface FormState {
  busy: boolean;
  /** The failure as one line (message and every issue), for the banner above the fields. */
  error: string | undefined;
  fieldErrors: Record<string, string>;
  /** Runs the write; resolves to its result, or undefined when it failed (the error is kept). */
  submit: <T>(action: () => Promise<T>) => Promise<T | undefined>;
  reset: () => void;
}

export function useForm(): FormState {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const submit = useCallback(async <T,>(action: () => Promise<T>) => {
    setBusy(true);
    setError(undefined);
    setFieldErrors({});
    try {
      return await action();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.describe() : (caught as Error).message);
      setFieldErrors(issuesByField(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, fieldErrors, submit, reset: () => (setError(undefined), setFieldErrors({})) };
}

/** Attributes tying an input to its Field's hint and error, for screen readers. */
export function describedBy(id: string, error: string | undefined, hint?: boolean): JSX.HTMLAttributes<HTMLInputElement> {
  const ids = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return { id, ...(ids ? { 'aria-describedby': ids } : {}), ...(error ? { 'aria-invalid': true } : {}) };
}

/**
 * A destructive button asking again in place: the first press shows "Confirm …" and "Cancel",
 * only the second runs the action.
 */
export function ConfirmButton({ label, what, confirmLabel, onConfirm, busy }: { label: string; what?: string; confirmLabel?: string; onConfirm: () => unknown; busy?: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <Button kind="plain" class="btn btn-plain btn-small" busy={busy} onClick={() => setAsking(true)} {...(what ? { 'aria-label': `${label} ${what}` } : {})}>
        {label}
      </Button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={`Confirm: ${label}${what ? ` ${what}` : ''}`}>
      <Button
        kind="danger"
        class="btn btn-danger btn-small"
        busy={busy}
        onClick={async () => {
          await onConfirm();
          setAsking(false);
        }}
      >
        {confirmLabel ?? `Confirm ${label.toLowerCase()}`}
      </Button>{' '}
      <Button class="btn btn-plain btn-small" onClick={() => setAsking(false)}>
        Cancel
      </Button>
    </span>
  );
}

export interface PagedList<T> {
  rows: T[];
  total: number;
  loading: boolean;
  error: Error | undefined;
  /** Fetches the rows shown so far again (after a write, or by the poll). */
  reload: () => Promise<void>;
  loadMore: () => Promise<void>;
}

/** An offset-paged list route (`{<key>: [], total, limit, offset}`), one page at a time. */
export function usePagedList<T>(path: string | null, key: string, query: Query, options: { pageSize?: number; pollMs?: number } = {}): PagedList<T> {
  const pageSize = options.pageSize ?? 50;
  const [rows, setRows] = useState<T[]>([]);
  const [total, setTotal] = useState(0);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | undefined>(undefined);
  const shown = useRef(pageSize);
  const ticket = useRef(0);
  const queryKey = JSON.stringify(query);

  const fetchPage = useCallback(
    async (offset: number, limit: number, append: boolean) => {
      if (!path) return;
      const mine = ++ticket.current;
      setLoading(true);
      try {
        const page = await api.get<Record<string, unknown> & { total: number }>(path, { ...query, limit, offset });
        if (mine !== ticket.current) return;
        const items = (page[key] as T[] | undefined) ?? [];
        setRows((before) => (append ? [...before, ...items] : items));
        setTotal(page.total);
        setError(undefined);
      } catch (caught) {
        if (mine === ticket.current) setError(caught as Error);
      } finally {
        if (mine === ticket.current) setLoading(false);
      }
    },
    [path, key, queryKey],
  );

  const reload = useCallback(() => fetchPage(0, Math.min(500, Math.max(pageSize, shown.current)), false), [fetchPage, pageSize]);

  useEffect(() => {
    shown.current = pageSize;
    void reload();
    if (!options.pollMs) return undefined;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') void reload();
    }, options.pollMs);
    return () => clearInterval(timer);
  }, [reload, options.pollMs, pageSize]);

  const loadMore = useCallback(async () => {
    const offset = shown.current;
    shown.current += pageSize;
    await fetchPage(offset, pageSize, true);
  }, [fetchPage, pageSize]);

  return { rows, total, loading, error, reload, loadMore };
}

/** "Showing n of total" and the button for the next page. */
export function LoadMore({ shown, total, loading, onMore }: { shown: number; total: number; loading: boolean; onMore: () => void }) {
  return (
    <p class="load-more muted">
      Showing {shown.toLocaleString()} of {total.toLocaleString()}{' '}
      {shown < total && (
        <Button busy={loading} onClick={onMore}>
          Load more
        </Button>
      )}
    </p>
  );
}

/** A titled panel holding a form, with a button to close it. */
export function FormPanel({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  return (
    <section class="panel" aria-label={title}>
      <div class="page-header">
        <h2>{title}</h2>
        <Button onClick={onClose}>Close</Button>
      </div>
      {children}
    </section>
  );
}

export interface ClientOption {
  id: string;
  name: string;
}

/** The clients the owner may pick from (a client user has none to pick: the API uses theirs). */
export function useClientOptions(enabled: boolean): ClientOption[] {
  const [clients, setClients] = useState<ClientOption[]>([]);
  useEffect(() => {
    if (!enabled) return;
    let live = true;
    void getAll<ClientOption>('/clients', 'clients')
      .then((rows) => live && setClients(rows))
      .catch(() => undefined); // the page still works; the API names a missing client
    return () => void (live = false);
  }, [enabled]);
  return clients;
}

/** The owner's client choice for a new row; nothing for a client user. */
export function ClientSelect({ id, clients, value, onChange, error, label = 'Client' }: { id: string; clients: ClientOption[]; value: string; onChange: (id: string) => void; error?: string | undefined; label?: string }) {
  return (
    <Field label={label} id={id} error={error}>
      <select {...(describedBy(id, error) as object)} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">Choose a client…</option>
        {clients.map((c) => (
          <option key={c.id} value={c.id}>
            {c.name}
          </option>
        ))}
      </select>
    </Field>
  );
}
