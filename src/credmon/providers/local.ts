import { randomUUID } from 'node:crypto';
import { TokenwardenError } from '../../errors.js';
import { fileIdentity } from '../../files/index.js';
import type { Log } from '../../log/index.js';
import { ensureKeyPair, loadSigningKey, mintToken, type SigningKey } from '../../signing/index.js';
import type { LocalProviderConfig } from '../config/types.js';
import { writeCredFile } from '../cred-files.js';
import { isValidUserName } from '../names.js';
import { buildScope, checkTemplate } from './authz-template.js';
import { type GroupMapfile, openGroupMapfile } from './group-mapfile.js';
import { checkTopPresent } from './top-present.js';
import type { CredentialProvider, CredentialRef, ProviderContext, RenewOutcome } from './types.js';

/**
 * The local issuer provider (HTCondor's LocalCredmon): for every `<user>/<name>.top` of its provider it
 * signs a token with the site's key and writes it to `<user>/<name>.use`, as `{"access_token",
 * "expires_in"}` or, with `TOKEN_USE_JSON = false`, as `<JWT>\n`. The `.top` only says that the user
 * wants a token (condor_submit's credential producer writes the user name there); what is in it is not
 * trusted: the user is the directory's name, which the CredD chose.
 *
 * Claims: `iss`, `sub` = user, `scope` from AUTHZ_TEMPLATE (`{username}`) plus AUTHZ_GROUP_TEMPLATE per
 * group of the user in AUTHZ_GROUP_MAPFILE, `aud` (a JSON array), `ver` or `wlcg.ver`, `iat` = `nbf`,
 * `exp`, `jti` (see src/signing mintToken).
 *
 * What the Python credmon lets through and then turns, token after token, into "no token" or a useless
 * one is refused at start (`prepare`, CONFIG_INVALID naming the knob, which the credmon turns into exit
 * 99): `scitoken:2.0` without TOKEN_AUDIENCE, an unreadable key, a key of another algorithm,
 * AUTHZ_GROUP_REQUIREMENT without AUTHZ_GROUP_MAPFILE, a map file that cannot be read, a template
 * placeholder that cannot be expanded. AUTHZ_GROUP_TEMPLATE without a map file adds no group scopes, as
 * in HTCondor (the configuration loader warns). A user outside AUTHZ_GROUP_REQUIREMENT gets no token at all (the Python
 * credmon writes an empty one): the renewal fails with LOGIN_DENIED, any `.use` already there is left
 * alone (it expires within TOKEN_LIFETIME), and condor_submit, which waits for the `.use`, refuses the job.
 */

/** The knob name of a local-issuer setting, in HTCondor's lookup order, for messages. */
export function localKnob(provider: string, knob: string): string {
  return `LOCAL_CREDMON_${provider.toUpperCase()}_${knob} (or LOCAL_CREDMON_${knob})`;
}

/** How often the key file is looked at for a replacement. */
export const KEY_CHECK_INTERVAL_MS = 1000;

export interface LocalProviderOptions {
  /** The `jti` of each token (tests); a random UUID by default. */
  newJti?: () => string;
}

/** Checks the configuration without touching any file (pure): what `prepare` refuses before the key. */
export function checkLocalProviderConfig(config: LocalProviderConfig): void {
  const knob = (k: string) => localKnob(config.name, k);
  if (config.tokenVersion.toLowerCase() === 'scitoken:2.0' && config.audience.length === 0) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob('TOKEN_AUDIENCE')} is not set, and a scitoken:2.0 token (${knob('TOKEN_VERSION')}) must name its audience`,
      {
        hint: 'set TOKEN_AUDIENCE to the storage or service URLs the tokens are for (space-separated), or choose TOKEN_VERSION = wlcg:1.0',
      },
    );
  }
  if (config.authzGroupRequirement !== undefined && config.authzGroupMapfile === undefined) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob('AUTHZ_GROUP_REQUIREMENT')} is set but ${knob('AUTHZ_GROUP_MAPFILE')} is not: nobody could be found in group ${config.authzGroupRequirement}`,
      { hint: 'set AUTHZ_GROUP_MAPFILE to the file of "* <user> <group1>,<group2>" lines' },
    );
  }
  checkTemplate(config.authzTemplate, 'username', knob('AUTHZ_TEMPLATE'));
  if (config.authzGroupTemplate !== undefined)
    checkTemplate(config.authzGroupTemplate, 'groupname', knob('AUTHZ_GROUP_TEMPLATE'));
  if (!Number.isInteger(config.lifetimeSeconds) || config.lifetimeSeconds <= 0) {
    throw new TokenwardenError(
      'CONFIG_INVALID',
      `${knob('TOKEN_LIFETIME')} = ${config.lifetimeSeconds} is not a positive whole number of seconds`,
    );
  }
}

/** The local issuer provider for one `LOCAL_CREDMON_PROVIDER_NAMES` entry. */
export function createLocalProvider(
  config: LocalProviderConfig,
  options: LocalProviderOptions = {},
): CredentialProvider {
  const newJti = options.newJti ?? randomUUID;
  const mapfile: GroupMapfile | undefined =
    config.authzGroupMapfile === undefined
      ? undefined
      : openGroupMapfile(config.authzGroupMapfile, localKnob(config.name, 'AUTHZ_GROUP_MAPFILE'));
  let key: SigningKey | undefined;
  let keyIdentity: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let loading: Promise<SigningKey> | undefined;

  async function loadKey(log?: Log): Promise<SigningKey> {
    checkLocalProviderConfig(config);
    // A map file that is missing or unreadable at start is refused now, not at the first token.
    await mapfile?.groupsOf('');
    const { created } = await ensureKeyPair(config.privateKeyPath, config.publicKeyPath, {
      alg: config.algorithm,
    }).catch((err: unknown) => {
      throw asConfigError(err, localKnob(config.name, 'PRIVATE_KEY'));
    });
    if (created)
      log?.emit({
        type: 'credmon.warning',
        level: 'warning',
        message: `provider ${config.name}: generated a new ${config.algorithm} key pair (private ${config.privateKeyPath}, public ${config.publicKeyPath}); publish the public key at ${config.issuer} so that storage accepts the tokens`,
      });
    // The identity first: a key replaced after this read is seen as a change at the next check.
    const identity = await fileIdentity(config.privateKeyPath).catch(() => undefined);
    const loaded = await loadSigningKey(config.privateKeyPath, {
      alg: config.algorithm,
      kid: config.keyId,
    }).catch((err: unknown) => {
      throw asConfigError(err, localKnob(config.name, 'PRIVATE_KEY'));
    });
    key = loaded;
    keyIdentity = identity;
    return loaded;
  }

  /**
   * The key to sign with. The key file is looked at (lstat) at most once every KEY_CHECK_INTERVAL_MS:
   * a key an administrator replaced is loaded and used from then on, without a restart; a replacement
   * that cannot be loaded is reported once and the key in use is kept (tokens keep coming).
   */
  async function signingKey(ctx: ProviderContext): Promise<SigningKey> {
    if (key === undefined) {
      loading ??= loadKey(ctx.log).finally(() => {
        loading = undefined;
      });
      return loading;
    }
    const now = ctx.clock();
    if (now - checkedAt < KEY_CHECK_INTERVAL_MS) return key;
    checkedAt = now;
    const identity = await fileIdentity(config.privateKeyPath).catch(() => undefined);
    if (identity === undefined || identity === keyIdentity) return key;
    keyIdentity = identity;
    try {
      key = await loadSigningKey(config.privateKeyPath, { alg: config.algorithm, kid: config.keyId });
      ctx.log.emit({
        type: 'credmon.warning',
        level: 'warning',
        message: `provider ${config.name}: the private key ${config.privateKeyPath} changed; new tokens are signed with it (kid ${config.keyId}): publish its public key`,
      });
    } catch (err) {
      ctx.log.emit({
        type: 'credmon.warning',
        level: 'warning',
        message: `provider ${config.name}: the private key ${config.privateKeyPath} changed but cannot be loaded (${err instanceof Error ? err.message : String(err)}); still signing with the key loaded before`,
      });
    }
    return key;
  }

  return {
    kind: 'local',
    name: config.name,

    /** Idempotent: each call checks the configuration and loads the key again; on failure the key in use is kept. */
    async prepare(ctx) {
      loading = undefined;
      await loadKey(ctx.log);
    },

    async renew(ref: CredentialRef, ctx: ProviderContext): Promise<RenewOutcome> {
      if (!isValidUserName(ref.user)) {
        throw new TokenwardenError(
          'FILE_UNSAFE',
          `refusing the user directory name ${JSON.stringify(ref.user)}`,
        );
      }
      const signer = await signingKey(ctx);
      const groups = await groupsNeeded(ref.user);
      await checkTopPresent(ctx.credDir, ref);
      const now = Math.floor(ctx.clock() / 1000);
      const token = mintToken(signer, {
        issuer: config.issuer,
        subject: ref.user,
        scope: buildScope(ref.user, config.authzTemplate, config.authzGroupTemplate, groups),
        audience: config.audience,
        lifetimeSeconds: config.lifetimeSeconds,
        version: config.tokenVersion,
        nowSeconds: now,
        jti: newJti(),
      });
      await writeCredFile(ctx.credDir, ref.user, ref.cred.name, 'use', useFileText(token, config));
      return { expiresAt: now + config.lifetimeSeconds, issuedAt: now };
    },
  };

  /** The user's groups when a template or a requirement needs them; LOGIN_DENIED outside the requirement. */
  async function groupsNeeded(user: string): Promise<readonly string[]> {
    if (mapfile === undefined) return [];
    const groups = await mapfile.groupsOf(user);
    const required = config.authzGroupRequirement;
    if (required !== undefined && !groups.includes(required)) {
      throw new TokenwardenError(
        'LOGIN_DENIED',
        `user ${user} is not in group ${required} of ${mapfile.path}: no ${config.name} token is issued`,
        {
          hint: `add the user to group ${required} in ${mapfile.path} if they should have tokens (${localKnob(config.name, 'AUTHZ_GROUP_REQUIREMENT')})`,
        },
      );
    }
    return config.authzGroupTemplate === undefined ? [] : groups;
  }
}

/** The text of a `.use` file: `{"access_token","expires_in"}`, or the bare token and a newline. */
export function useFileText(
  token: string,
  config: Pick<LocalProviderConfig, 'useJson' | 'lifetimeSeconds'>,
): string {
  return config.useJson
    ? JSON.stringify({ access_token: token, expires_in: config.lifetimeSeconds })
    : `${token}\n`;
}

/** A key problem is a configuration problem (exit 99): named with the knob, the message kept. */
function asConfigError(err: unknown, knob: string): TokenwardenError {
  if (err instanceof TokenwardenError) {
    if (err.code === 'CONFIG_INVALID') return err;
    return new TokenwardenError('CONFIG_INVALID', `${knob}: ${err.message}`, { hint: err.hint, cause: err });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new TokenwardenError('CONFIG_INVALID', `${knob}: ${why}`, { cause: err });
}
