import { TokenwardenError } from '../../errors.js';
import { fileIdentity } from '../../files/index.js';
import { credFilePath } from '../cred-files.js';
import type { CredentialRef } from './types.js';

/**
 * Throws TOKEN_NOT_FOUND when the credential's `.top` is gone: the CredD removed the credential (or the
 * whole user) between the scan and this renewal, and a token written now would outlive it. Checked by
 * the providers that need nothing else from the `.top` (the local issuer, client credentials) just
 * before they mint or ask; one lstat.
 */
export async function checkTopPresent(credDir: string, ref: CredentialRef): Promise<void> {
  const top = credFilePath(credDir, ref.user, ref.cred.name, 'top');
  let identity: string | undefined;
  try {
    identity = await fileIdentity(top);
  } catch {
    identity = undefined;
  }
  if (identity === undefined)
    throw new TokenwardenError(
      'TOKEN_NOT_FOUND',
      `${ref.user}/${ref.cred.name}.top is gone (the CredD removed the credential): no token written`,
    );
}
