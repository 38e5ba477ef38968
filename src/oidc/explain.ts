import { OAuthError, type Remedy } from '../errors.js';

/** What the caller of a grant knows that the issuer's answer does not say. */
export interface OAuthErrorContext {
  /** The account whose grant failed. */
  account: string;
  /** Scopes asked for in this request (empty or absent: the account's own). */
  requestedScope?: readonly string[] | undefined;
  /** Scopes the account was granted at login (the credential record's `scope`). */
  grantedScope?: readonly string[] | undefined;
  /** The client_id sent. */
  clientId?: string | undefined;
  /**
   * Where client_id and client_secret came from, as a user finds it: `FILE line N: Config for
   * [account A]`, or `the credential FILE that setup made`.
   */
  clientSource?: string | undefined;
  /** The command that sets the account up again (`setup A --config FILE`); `setup A` when absent. */
  setup?: Remedy | undefined;
}

/**
 * Turns an issuer's invalid_scope or invalid_client into a message a user can act on: the scopes asked
 * and granted, and `setup --scope`; the client_id and where it and its secret came from. Pure; any
 * other error is returned as it is. Call it where the grant is called, with what is known there.
 */
export function explainOAuthError<E>(err: E, context: OAuthErrorContext): E | OAuthError {
  if (!(err instanceof OAuthError)) return err;
  const answered = `issuer answered ${err.errorDescription ? `${err.error} (${err.errorDescription})` : err.error}`;
  const setup: Remedy = context.setup ?? { command: 'setup', account: context.account };
  const options = { grant: err.grant };
  if (err.error === 'invalid_scope') {
    const asked = context.requestedScope?.length ? context.requestedScope.join(' ') : undefined;
    const granted = context.grantedScope?.length ? context.grantedScope.join(' ') : undefined;
    const parts = [
      `account ${context.account}: the issuer refused the scope asked for (${answered})`,
      ...(asked === undefined ? [] : [`asked: ${asked}`]),
      ...(granted === undefined ? [] : [`the account was granted: ${granted}`]),
    ];
    const wanted = [...new Set([...(context.grantedScope ?? []), ...(context.requestedScope ?? [])])];
    return new OAuthError(err.error, err.errorDescription, err.status, {
      ...options,
      message: parts.join('; '),
      hint:
        granted === undefined
          ? 'ask only for scopes the account was granted, or log in for more'
          : 'ask only for scopes among those granted, or log in for more',
      remedy: {
        ...setup,
        finalFlags: ['--scope', `"${granted === undefined ? 'SCOPES' : wanted.join(' ')}"`, '--force'],
      },
    });
  }
  if (err.error === 'invalid_client' || err.error === 'unauthorized_client') {
    const client =
      context.clientId === undefined ? 'the client' : `client_id ${JSON.stringify(context.clientId)}`;
    const source =
      context.clientSource === undefined
        ? ''
        : `; client_id and client_secret are from ${context.clientSource}`;
    const what =
      err.error === 'invalid_client'
        ? `the issuer does not accept ${client} with its client_secret`
        : `the issuer does not let ${client} use this grant`;
    return new OAuthError(err.error, err.errorDescription, err.status, {
      ...options,
      message: `account ${context.account}: ${what} (${answered})${source}`,
      ...(context.clientSource?.startsWith('the credential')
        ? {
            hint: 'the client setup registered may have been deleted at the issuer; register a new one',
            remedy: { ...setup, finalFlags: ['--force'] },
          }
        : {
            hint: 'check client_id and client_secret (or client_secret_file) against the client registered at the issuer',
          }),
    });
  }
  return err;
}

/**
 * The context of a renewal's grant, from the [account] section (structurally: kind, name, line,
 * credential_file or client_id), the credential record (its scope and client) and the token's scope.
 */
export function accountErrorContext(
  account: { kind: string; name: string; line: number; credentialFile?: string; clientId?: string },
  record: { scope: readonly string[]; clientId: string } | undefined,
  requestedScope: readonly string[] | undefined,
  configFile: string,
): OAuthErrorContext {
  const section = `${account.line > 0 ? `${configFile} line ${account.line}` : configFile}: Config for [account ${account.name}]`;
  return {
    account: account.name,
    requestedScope,
    grantedScope: record?.scope,
    clientId: record?.clientId ?? account.clientId,
    clientSource:
      account.kind === 'client_credentials' || record === undefined
        ? section
        : account.credentialFile === undefined
          ? 'the credential record that setup made'
          : `the credential ${account.credentialFile} that setup made`,
    setup: { command: 'setup', account: account.name, config: configFile },
  };
}
