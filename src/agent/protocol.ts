/**
 * The agent's socket protocol: JSON objects, one request per connection, closed after the reply. It is
 * oidc-agent's IPC-API (https://indigo-dc.gitbook.io/oidc-agent/api/api-ipc) extended with `tw_*`
 * requests for tokenwarden's own client; the real `oidc-token` speaks the same requests through
 * oidc-agent's encrypted transport (src/agent/oidc-agent/).
 */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** oidc-agent's `access_token` request (IPC-API "Access Token"). */
export interface AccessTokenRequest {
  request: 'access_token';
  account?: string;
  issuer?: string;
  min_valid_period?: number;
  scope?: string;
  audience?: string;
  application_hint?: string;
  /** tokenwarden's own client sets this for --force (oidc-token -f sends min_valid_period -1). */
  force_new_token?: boolean;
}

export interface AddRequest {
  request: 'tw_add';
  account: string;
  password: string;
  credential_file: string;
  lock_file: string;
  /** Seconds the account stays loaded (0: the agent's default). */
  lifetime?: number;
  /** The config.ini the account came from, named in the commands of the agent's hints. */
  config?: string;
}

export interface RemoveRequest {
  request: 'tw_remove';
  account: string;
}

export interface SimpleRequest {
  request: 'tw_list' | 'tw_ping' | 'tw_kill';
}

export type AgentRequest = AccessTokenRequest | AddRequest | RemoveRequest | SimpleRequest;

export interface SuccessReply {
  status: 'success';
  [key: string]: unknown;
}

export interface FailureReply {
  status: 'failure';
  error: string;
  /** tokenwarden's error code, for its own client (oidc-agent clients ignore unknown fields). */
  code?: string;
  hint?: string;
  info?: string;
}

export type AgentReply = SuccessReply | FailureReply;

/** A failure reply; the hint also goes in `info`, which oidc-token prints below the error. */
export function failure(error: string, code?: string, hint?: string): FailureReply {
  return { status: 'failure', error, ...(code ? { code } : {}), ...(hint ? { hint, info: hint } : {}) };
}
