/**
 * The HTML a person sees when using the test issuer from a browser: sign-in with consent in one form,
 * the device flow's code entry, confirmation and success pages, and the error page. Plain pages, no
 * scripts or external resources; every interpolated value is escaped.
 */

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - tokenwarden test issuer</title>
<style>
body{font-family:sans-serif;max-width:34em;margin:2em auto;padding:0 1em;color:#222}
code{font-size:1.1em}label,input,button{display:block;margin:.5em 0}button{padding:.4em 1.2em}
.note{color:#666;font-size:.9em}
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
<p class="note">tokenwarden test issuer: any user name is accepted; nothing is stored on disk.</p>
</body>
</html>
`;
}

export interface SignInPage {
  action: string;
  clientName: string;
  scopes: readonly string[];
  defaultUser: string;
}

/** Sign-in and consent in one step: the user name to act as, then approve or deny the scopes. */
export function signInPage(page: SignInPage): string {
  const scopes = page.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return layout(
    'Sign in',
    `<p><strong>${escapeHtml(page.clientName)}</strong> asks for:</p>
<ul>${scopes || '<li>no scopes</li>'}</ul>
<form method="post" action="${escapeHtml(page.action)}">
<label for="username">User name</label>
<input id="username" name="username" value="${escapeHtml(page.defaultUser)}" autofocus required>
<button type="submit" name="decision" value="approve">Sign in and approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
  );
}

/** Device flow, step 1: `form` is oidc-provider's code entry form (id op.deviceInputForm). */
export function userCodeInputPage(form: string, error: string | undefined): string {
  const message = error ? `<p><strong>${escapeHtml(error)}</strong></p>` : '';
  return layout(
    'Connect a device',
    `${message}<p>Enter the code shown on your device.</p>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

/** Device flow, step 2: `form` is oidc-provider's confirmation form (id op.deviceConfirmForm). */
export function userCodeConfirmPage(form: string, clientName: string, userCode: string): string {
  return layout(
    'Confirm the device',
    `<p><strong>${escapeHtml(clientName)}</strong> should be showing the code <code>${escapeHtml(userCode)}</code>.</p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

export function deviceSuccessPage(clientName: string): string {
  return layout(
    'Device connected',
    `<p>You may close this page; <strong>${escapeHtml(clientName)}</strong> now has access.</p>`,
  );
}

export function errorPage(error: string, description: string | undefined): string {
  const detail = description ? `<p>${escapeHtml(description)}</p>` : '';
  return layout('Error', `<p><code>${escapeHtml(error)}</code></p>${detail}`);
}
