import { escapeHtml } from '../../web/index.js';

/**
 * The pages of the login web app, as the Flask app shows them (one card per provider, a Login button or
 * "Logged in as"), without its outside resources: self-contained HTML, inline style only (what the
 * Content-Security-Policy of src/web allows), no script, every value escaped. Pure functions.
 */

export interface ProviderCard {
  /** `<Provider> <Handle>`. */
  label: string;
  loggedIn: boolean;
  /** Who the provider said logged in. */
  subject?: string | undefined;
  /** Where the Login button goes (already built from the route prefix). */
  loginHref: string;
  /** Why this provider cannot be logged in to, when it cannot (a misconfigured provider). */
  problem?: string | undefined;
}

export interface IndexPage {
  /** The key file's LocalUser, when there is a session. */
  user: string | undefined;
  providers: readonly ProviderCard[];
}

const STYLE = [
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}',
  'header{background:#1f3b57;color:#fff;padding:.8rem 1.5rem;display:flex;justify-content:space-between;flex-wrap:wrap}',
  'header strong{font-size:1.1rem}main{max-width:48rem;margin:0 auto;padding:1.5rem}',
  '.lead{font-size:1.1rem}.cards{display:flex;flex-direction:column;gap:1rem;padding:0;list-style:none}',
  '.card{background:#fff;border:1px solid #ccd;border-radius:6px;padding:1rem 1.2rem;max-width:24rem}',
  '.card h2{margin:0 0 .6rem;font-size:1.2rem}',
  'a.button{display:inline-block;background:#0d6efd;color:#fff;padding:.4rem 1.2rem;border-radius:4px;text-decoration:none}',
  '.ok{color:#146c43}.problem{color:#b02a37}',
].join('');

function layout(title: string, user: string | undefined, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    '<header><strong>HTCondor Credential Manager</strong>',
    user === undefined ? '' : `<span data-hook="user">Logged in as: ${escapeHtml(user)}</span>`,
    '</header>',
    `<main>${body}</main>`,
    '</body></html>',
    '',
  ].join('\n');
}

/** `/` and `/key/<key>`: the providers of the session's key file and their state. */
export function renderIndexPage(page: IndexPage): string {
  const allIn = page.providers.length > 0 && page.providers.every((p) => p.loggedIn);
  const lead =
    page.providers.length === 0
      ? 'Open the link that <code>condor_submit</code> printed to log in to the token providers your job needs.'
      : allIn
        ? 'You have logged in to all service providers indicated by your job. You may close this window and resubmit your HTCondor job (if necessary).'
        : 'Logging into the below service providers allows HTCondor to manage the credentials for those providers. HTCondor can then read &amp; write into the resources provided by these service providers.';
  const cards = page.providers
    .map((p) => {
      const state = p.loggedIn
        ? `<p class="ok" data-hook="state">${
            p.subject === undefined ? 'Logged in' : `Logged in as: ${escapeHtml(p.subject)}`
          }</p>`
        : p.problem !== undefined
          ? `<p class="problem" data-hook="state">${escapeHtml(p.problem)}</p>`
          : `<a class="button" data-hook="login" href="${escapeHtml(p.loginHref)}">Login</a>`;
      return `<li class="card" data-provider="${escapeHtml(p.label)}" data-logged-in="${p.loggedIn}"><h2>${escapeHtml(
        p.label,
      )} Login</h2>${state}</li>`;
    })
    .join('\n');
  return layout(
    'HTCondor Credential Manager',
    page.user,
    `<h1>Service Providers</h1><p class="lead" data-hook="lead">${lead}</p><ul class="cards">${cards}</ul>`,
  );
}
