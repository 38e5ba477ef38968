import type { ErrorCode } from '../errors.js';

/**
 * Exit statuses, in one table. 0 success; 1 some work failed (tokens not renewed, a token invalid);
 * 2 the command line was wrong; 3 the configuration or a file it names is wrong; 4 a credential cannot
 * be used (wrong password, none yet, needs a new login, login refused or not finished); 5 the issuer
 * could not be reached or answered with an error; 70 a bug. EXIT_STATUSES says each in words.
 */
export const EXIT_CODES: Record<ErrorCode, number> = {
  USAGE: 2,
  CONFIG_NOT_FOUND: 3,
  CONFIG_INVALID: 3,
  PASSWORD_FILE: 3,
  FILE_UNSAFE: 3,
  STORE_NOT_FOUND: 4,
  STORE_DECRYPT_FAILED: 4,
  STORE_INVALID: 4,
  NEEDS_LOGIN: 4,
  CREDENTIAL_LOST: 4,
  LOGIN_DENIED: 4,
  LOGIN_TIMEOUT: 4,
  TOKEN_INVALID: 1,
  TOKEN_NOT_FOUND: 1,
  FILE_IO: 1,
  LOCK_TIMEOUT: 1,
  RENEW_FAILED: 1,
  AGENT_START: 1,
  OAUTH_ERROR: 5,
  ISSUER_RESPONSE: 5,
  NETWORK: 5,
  TIMEOUT: 5,
  INTERNAL: 70,
};

/** What each exit status means, in the words `--help` and docs/messages.md use. */
export const EXIT_STATUSES: ReadonlyArray<{ status: number; meaning: string }> = [
  { status: 0, meaning: 'success' },
  {
    status: 1,
    meaning:
      'some work failed: a token not renewed, a token invalid or expired, a file or lock problem, the agent did not start',
  },
  { status: 2, meaning: 'the command line is wrong: unknown command or option, bad or missing value' },
  {
    status: 3,
    meaning:
      'the configuration, or a file it names, is wrong: config.ini, password_file, unsafe permissions or paths',
  },
  {
    status: 4,
    meaning:
      'a credential cannot be used: wrong password, none yet, damaged, needs a new login, login refused or not finished',
  },
  {
    status: 5,
    meaning: 'the issuer could not be reached, did not answer in time, or answered with an error',
  },
  { status: 70, meaning: 'internal error, a bug in tokenwarden (TOKENWARDEN_DEBUG=1 shows details)' },
];

/** The "Exit status:" block of `--help`, from EXIT_STATUSES. */
export function exitStatusHelp(): string[] {
  return [
    'Exit status:',
    ...EXIT_STATUSES.map(({ status, meaning }) => `  ${String(status).padEnd(3)} ${meaning}`),
  ];
}
