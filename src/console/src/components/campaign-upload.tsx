/**
 * Contacts CSV upload into a campaign, with a progress bar and the server's per-line report.
 * XMLHttpRequest, not fetch: fetch reports no upload progress. It carries the bearer token of
 * the session and, like api.ts, refreshes once and sends again on a 401.
 */
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { bearerToken, refresh } from '../session';
import type { ImportReport } from './campaign-model';
import { Button, ErrorBanner, formatNumber } from './ui';

function sendOnce(url: string, file: File, onProgress: (fraction: number) => void): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('accept', 'application/json');
    const token = bearerToken();
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let body: unknown;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        body = undefined;
      }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new Error('The upload failed: the server could not be reached'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

/** Uploads the CSV; resolves with the import report or rejects with an ApiError. */
export async function uploadContactsCsv(campaignId: string, file: File, onProgress: (fraction: number) => void): Promise<ImportReport> {
  const url = `/api/campaigns/${encodeURIComponent(campaignId)}/contacts/import`;
  let answer = await sendOnce(url, file, onProgress);
  if (answer.status === 401 && (await refresh())) answer = await sendOnce(url, file, onProgress);
  if (answer.status >= 200 && answer.status < 300) return answer.body as ImportReport;
  const error = (answer.body as { error?: { code?: string; message?: string; details?: ApiError['details'] } } | undefined)?.error;
  throw new ApiError(answer.status, error?.code ?? 'http_error', error?.message ?? `Upload failed (${answer.status})`, error?.details);
}

export function ContactsUpload({ campaignId, onImported }: { campaignId: string; onImported?: (report: ImportReport) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<unknown>(null);

  const upload = async () => {
    if (!file) return;
    setError(null);
    setReport(null);
    setProgress(0);
    try {
      const result = await uploadContactsCsv(campaignId, file, setProgress);
      setProgress(1);
      setReport(result);
      onImported?.(result);
    } catch (caught) {
      setProgress(null);
      setError(caught);
    }
  };

  const busy = progress !== null && progress < 1 && !report && !error;
  return (
    <section class="panel" aria-labelledby="contacts-upload-title">
      <h2 id="contacts-upload-title">Contacts</h2>
      <p class="muted">A CSV file with a header row and an "email" column; first_name, last_name, company, time_zone and other columns (custom fields) are optional.</p>
      <div class="toolbar">
        <div class="field">
          <label for="contacts-file">Contacts CSV file</label>
          <input id="contacts-file" type="file" accept=".csv,text/csv" onChange={(event) => setFile(event.currentTarget.files?.[0] ?? null)} />
        </div>
        <Button kind="primary" disabled={!file} busy={busy} onClick={() => void upload()}>
          Upload contacts
        </Button>
      </div>
      {progress !== null && (
        <div class="field">
          <label for="contacts-progress">Upload progress</label>
          <progress id="contacts-progress" max={100} value={Math.round(progress * 100)}>
            {Math.round(progress * 100)} %
          </progress>
        </div>
      )}
      <ErrorBanner error={error} />
      {report && <ImportReportView report={report} />}
    </section>
  );
}

export function ImportReportView({ report }: { report: ImportReport }) {
  return (
    <div aria-live="polite">
      <p role="status">
        {formatNumber(report.rows)} rows: {formatNumber(report.imported)} new contacts, {formatNumber(report.existing)} already known, {formatNumber(report.attachedToCampaign)} added to the
        campaign, {formatNumber(report.duplicatesInFile)} duplicates in the file, {formatNumber(report.suppressed)} suppressed, {formatNumber(report.invalid)} invalid
        {report.queued !== undefined ? `, ${formatNumber(report.queued)} queued` : ''}.
      </p>
      {report.errors.length > 0 && (
        <table>
          <caption class="muted">Lines not imported{report.errorsTruncated ? ' (the first ones only)' : ''}</caption>
          <thead>
            <tr>
              <th scope="col" class="num">
                Line
              </th>
              <th scope="col">Field</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {report.errors.map((e) => (
              <tr key={`${e.line}-${e.field}`}>
                <td class="num">{e.line}</td>
                <td>{e.field}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
