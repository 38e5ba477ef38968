import { stat } from 'node:fs/promises';
import { TokenwardenError } from '../../errors.js';
import { readFileIfExists } from '../../files/index.js';
import { Secret } from '../../secret.js';

const MAX_SECRET_FILE_BYTES = 64 * 1024;

/**
 * A client secret from `<P>_CLIENT_SECRET_FILE`, read as the CredD reads it: the bytes before the first
 * control character (a trailing newline is not part of the secret). The file must not be readable by
 * group or others, as HTCondor's read_secure_file demands. Errors name the file and the knob, never the
 * content.
 */
export async function readClientSecretFile(path: string, knob: string): Promise<Secret> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: cannot read the client secret file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob}: the client secret file ${path} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`,
    );
  const text = await readFileIfExists(path, { maxBytes: MAX_SECRET_FILE_BYTES });
  const all = text ?? '';
  let end = 0;
  while (end < all.length && all.charCodeAt(end) > 0x1f) end++;
  const value = all.slice(0, end);
  if (value === '')
    throw new TokenwardenError('CONFIG_INVALID', `${knob}: the client secret file ${path} is empty`);
  return new Secret(value);
}
