import { stat } from 'node:fs/promises';
import { TokenwardenError } from '../errors.js';
import { readFileIfExists } from '../files/index.js';
import { Secret } from '../secret.js';

/** Bound on a client secret file. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * A client secret from `<P>_CLIENT_SECRET_FILE`, read as the CredD reads it: the bytes before the first
 * control character (a trailing newline is not part of the secret; a blank inside is). The file must not
 * be readable by group or others, as HTCondor's read_secure_file demands. The one reader of the web app,
 * the OAuth2 refresh and the client-credentials provider. Errors name the file and the knob, never the
 * content.
 */
export async function readClientSecretFile(path: string, knob: string): Promise<Secret> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new TokenwardenError('CONFIG_INVALID', `${knob}: the client secret file ${path} does not exist`, {
        hint: 'write the secret the issuer gave this client there (mode 0600, owned by root)',
      });
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: cannot read the client secret file ${path} (${code ?? 'error'})`,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: the client secret file ${path} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  let text: string | undefined;
  try {
    text = await readFileIfExists(path, { maxBytes: MAX_SECRET_FILE_BYTES });
  } catch (err) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: cannot read the client secret file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const all = text ?? '';
  let end = 0;
  while (end < all.length && all.charCodeAt(end) > 0x1f) end++;
  const value = all.slice(0, end);
  if (value === '')
    throw new TokenwardenError('CONFIG_INVALID', `${knob}: the client secret file ${path} is empty`);
  return new Secret(value);
}
