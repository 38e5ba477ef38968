/**
 * Every option of config.ini and every default, in one place (after node-oidc-provider's
 * `lib/helpers/defaults.js`): the resolver reads its defaults from here, the unknown-option error lists
 * these names, and documentation can be generated from the descriptions.
 *
 * osg-token-renewer's own options are `password_file`, `token_request_url`, `client_id`, `client_secret`
 * ([account]) and `account`, `token_path`, `audience`, `scope`, `min_lifetime` ([token]); the rest are
 * tokenwarden's additions.
 */

/** Where the config is read from when neither --config nor an environment variable names one. */
export const DEFAULT_CONFIG_PATH = '/etc/tokenwarden/config.ini';

/**
 * osg-token-renewer's own config, read when nothing names a config and DEFAULT_CONFIG_PATH does not
 * exist, so that a site that ran osg-token-renewer needs no --config.
 */
export const OSG_CONFIG_PATH = '/etc/osg/token-renewer/config.ini';

/** State directory of root; other users get `$XDG_STATE_HOME/tokenwarden` or `~/.local/state/tokenwarden`. */
export const DEFAULT_ROOT_STATE_DIR = '/var/lib/tokenwarden';

/**
 * Seconds a token file must still be valid for `renew` to leave it alone.
 *
 * osg-token-renewer has no default of its own: it passes `min_lifetime` to `oidc-token --time`, whose
 * default is 0, and as it starts a fresh oidc-agent on every run, every run writes a new token. Under our
 * rule ("skip while more than min_lifetime remains") the default must outlast the gap between two timer
 * runs (10 minutes plus up to 3 minutes of RandomizedDelaySec), or a token could expire before the next
 * run. 900 s keeps a margin; a token shorter-lived than that is simply renewed on every run, as before.
 */
export const DEFAULT_MIN_LIFETIME = 900;

/** Seconds allowed for each network call of an account. */
export const DEFAULT_TIMEOUT_SECONDS = 30;

/** Seconds allowed for each POST to the warnings webhook (`webhook_timeout`). */
export const DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 10;

/** Mode of written token files. */
export const DEFAULT_TOKEN_MODE = 0o600;

export const DEFAULT_AUDIENCE_PARAM = 'audience';
export const DEFAULT_GRANT = 'refresh';
export const DEFAULT_NEWLINE = true;

/** The options of an `[account NAME]` section, with what each is for. */
export const ACCOUNT_OPTIONS = {
  password_file: 'file whose first line is the password that encrypts the account (refresh-token account)',
  credential_file:
    'encrypted credential record (default STATE_DIR/accounts/NAME.cred; password_file accounts)',
  token_request_url: 'token endpoint of a client-credentials account',
  client_id: 'client id of a client-credentials account',
  client_secret: 'client secret of a client-credentials account',
  client_secret_file: 'file whose first line is the client secret (instead of client_secret)',
  issuer: 'issuer URL (optional for client-credentials accounts)',
  audience_param: 'how audiences are asked for: audience (WLCG) or resource (RFC 8707)',
  timeout: 'seconds allowed for each network call',
} as const;

/** The options of a `[token NAME]` section, with what each is for. */
export const TOKEN_OPTIONS = {
  account: 'the [account NAME] that gets the token',
  token_path: 'absolute path of the token file to keep fresh',
  audience: 'space-separated audiences to ask for',
  scope: 'space-separated scopes to ask for',
  min_lifetime: 'renew when the token file has this many seconds or fewer left',
  owner: 'owner of the token file (user name or uid)',
  group: 'group of the token file (group name or gid)',
  mode: 'octal mode of the token file (default 0600; never world-writable)',
  newline: 'end the token file with a newline (default true)',
  grant: 'refresh (default) or exchange (RFC 8693 token exchange, password_file accounts only)',
} as const;

/** Options read from `[DEFAULT]` only. Any other `[DEFAULT]` key is an interpolation variable. */
export const DEFAULT_SECTION_OPTIONS = {
  state_dir: 'directory of credential records, locks and status files',
  webhook_url:
    'URL the daemon POSTs each warning to (JSON) when it appears and when it clears; https, or http on loopback',
  webhook_timeout: 'seconds allowed for each POST to webhook_url',
} as const;
