import { type AgentReply, failure } from './protocol.js';

/**
 * Answers the requests of oidc-agent's own tools that tokenwarden's agent does not serve the way
 * oidc-agent does (request names and shapes as oidc-agent 4.2's oidc-add, oidc-gen and oidc-token send
 * them). `oidc-add -a` gets the loaded accounts in oidc-agent's shape (`info`: an array of names);
 * every other one a failure whose `error` (which every tool prints) names the tokenwarden command
 * that does the job. Undefined: not one of these requests.
 */
export function answerOidcAgentToolRequest(
  request: Record<string, unknown>,
  loaded: () => string[],
): AgentReply | undefined {
  const name = accountName(request);
  const issuer = issuerOf(request) ?? 'URL';
  switch (request.request) {
    case 'loaded_accounts':
      return { status: 'success', info: loaded() };
    case 'check':
      // oidc-gen's "is an agent there?" probe.
      return { status: 'success', info: "tokenwarden's agent" };
    case 'add':
      return refuse(
        `oidc-add cannot load accounts into tokenwarden's agent: run tokenwarden import-oidc-agent ${name} once, then tokenwarden add ${name}`,
      );
    case 'remove':
      return refuse(`oidc-add -r is not served by tokenwarden's agent: run tokenwarden remove ${name}`);
    case 'remove_all':
      return refuse(
        "oidc-add -R is not served by tokenwarden's agent: run tokenwarden remove ACCOUNT for each account tokenwarden list shows",
      );
    case 'gen':
    case 'register':
    case 'code_exchange':
    case 'device':
    case 'state_lookup':
      return refuse(
        `oidc-gen cannot create accounts in tokenwarden's agent: run tokenwarden setup ${name} --issuer ${issuer}, then tokenwarden add ${name}`,
      );
    case 'delete':
      return refuse(
        `oidc-gen -d is not served by tokenwarden's agent: run tokenwarden remove ${name} (the stored credential stays)`,
      );
    case 'id_token':
      return refuse(
        `tokenwarden's agent hands out access tokens only, no ID tokens: run tokenwarden token ${name} for an access token`,
      );
    case 'lock':
    case 'unlock':
      return refuse(
        "tokenwarden's agent cannot be locked: run tokenwarden remove ACCOUNT to unload an account, or tokenwarden agent --kill to stop it",
      );
    case 'file_read':
    case 'file_write':
    case 'file_remove':
      return refuse("tokenwarden's agent keeps no files for oidc-agent's tools");
    default:
      return undefined;
  }
}

function refuse(text: string): AgentReply {
  return failure(text, 'USAGE');
}

/** The `config` object of oidc-add's and oidc-gen's requests (sent as an object or a JSON string). */
function configOf(request: Record<string, unknown>): Record<string, unknown> {
  let config = request.config;
  if (typeof config === 'string') {
    try {
      config = JSON.parse(config);
    } catch {
      config = undefined;
    }
  }
  return config !== null && typeof config === 'object' ? (config as Record<string, unknown>) : {};
}

/** The issuer oidc-gen was given, when it is a plain http(s) URL (anything else is not echoed). */
function issuerOf(request: Record<string, unknown>): string | undefined {
  const value = configOf(request).issuer_url ?? configOf(request).issuer;
  return typeof value === 'string' && /^https?:\/\/[A-Za-z0-9.:[\]/_~%-]{1,200}$/.test(value)
    ? value
    : undefined;
}

/** The account a request names: `account`, or the `name` inside oidc-add's decrypted `config`. */
function accountName(request: Record<string, unknown>): string {
  const fromConfig = configOf(request).name;
  for (const candidate of [request.account, fromConfig]) {
    // Only a plain short name is echoed; anything else (a URL, odd characters) becomes a placeholder.
    if (typeof candidate === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(candidate))
      return candidate;
  }
  return 'ACCOUNT';
}
