import { configError, configFailure, type RenewerConfig, type TokenConfig } from '../config/index.js';
import { asError } from '../credentials/index.js';
import { checkWriteTarget, resolveGid, resolveUid } from '../files/index.js';
import { writeOptions } from './write.js';

/**
 * Resolves `owner`/`group` and checks that `token_path` can be written (its directory exists; it is not
 * a symlink, not a non-file, not someone else's in a world-writable directory), before any grant is
 * spent on it (docs/architecture.md invariant 8). Errors name the config file, line, section and option.
 * `idCache` resolves each owner and group name once per run (getent may ask LDAP).
 */
export async function preflight(
  config: RenewerConfig,
  token: TokenConfig,
  idCache: Map<string, Promise<number>>,
): Promise<{ uid?: number; gid?: number }> {
  const section = `token ${token.name}`;
  const ids: { uid?: number; gid?: number } = {};
  for (const [option, value, resolveId] of [
    ['owner', token.owner, resolveUid],
    ['group', token.group, resolveGid],
  ] as const) {
    if (value === undefined) continue;
    try {
      const key = `${option}:${value}`;
      let id = idCache.get(key);
      if (id === undefined) {
        id = resolveId(value);
        idCache.set(key, id);
      }
      ids[option === 'owner' ? 'uid' : 'gid'] = await id;
    } catch (err) {
      const e = asError(err);
      throw configError(config.file, token.line, section, `${option}: ${e.message}`, e.hint);
    }
  }
  try {
    await checkWriteTarget(token.tokenPath, writeOptions(token, ids));
  } catch (err) {
    const e = asError(err);
    throw configFailure(e.code, config.file, token.line, section, `token_path: ${e.message}`, {
      cause: e,
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
  return ids;
}
