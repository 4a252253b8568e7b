/** The few HTML pages a recipient sees. Every value is escaped; no script, no cookie. */

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The pages' only styling, inline; their Content-Security-Policy allows exactly this text by its hash (public-guards.ts). */
export const PAGE_STYLE = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}label{display:block;margin:.8rem 0 .2rem}
input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}`;

/** `body` is trusted markup built by the callers below from escaped values. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>${PAGE_STYLE}</style></head>
<body>${body}</body></html>`;
}

export function unsubscribeConfirmPage(email: string, sender: string, alreadySuppressed: boolean): string {
  if (alreadySuppressed) {
    return page('Unsubscribed', `<h1>You are unsubscribed</h1><p><strong>${escapeHtml(email)}</strong> no longer receives email from ${escapeHtml(sender)}.</p>`);
  }
  return page(
    'Unsubscribe',
    `<h1>Unsubscribe</h1>
<p>Stop all email from ${escapeHtml(sender)} to <strong>${escapeHtml(email)}</strong>?</p>
<form method="post" action=""><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`,
  );
}

export function unsubscribedPage(email: string, sender: string): string {
  return page('Unsubscribed', `<h1>You are unsubscribed</h1><p><strong>${escapeHtml(email)}</strong> will get no more email from ${escapeHtml(sender)}.</p>`);
}

export function errorPage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** A route parameter as one string ('' when absent or repeated). */
export function stringParam(value: string | string[] | undefined): string {
  return typeof value === 'string' ? value : '';
}
