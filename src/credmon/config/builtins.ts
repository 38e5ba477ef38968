/**
 * The part of HTCondor's built-in configuration the credmon depends on: the defaults of
 * src/condor_utils/param_info.in for the knobs it reads or that they refer to, and the metaknobs that
 * `use CATEGORY : NAME` can bring in. Values are condor_config text (expanded when read).
 */

/** The HTCondor version `if version >= x.y` compares with: a recent HTCondor (see docs/credmon-config.md). */
export const CONDOR_COMPAT_VERSION: readonly [number, number, number] = [25, 0, 0];

/** Defaults from param_info.in (Unix values), used when no file or environment variable defines the knob. */
export const PARAM_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['RELEASE_DIR', '/usr'],
  ['LOCAL_DIR', '$(TILDE)'],
  ['LOG', '$(LOCAL_DIR)/log'],
  ['SPOOL', '$(LOCAL_DIR)/spool'],
  ['EXECUTE', '$(LOCAL_DIR)/execute'],
  ['ETC', '$(LOCAL_DIR)'],
  ['LOCK', '$(LOG)'],
  ['RUN', '$(LOCK)'],
  ['BIN', '$(RELEASE_DIR)/bin'],
  ['SBIN', '$(RELEASE_DIR)/sbin'],
  ['LIB', '$(RELEASE_DIR)/lib'],
  ['LIBEXEC', '$(RELEASE_DIR)/libexec'],
  ['CREDMON_OAUTH', '$(SBIN)/condor_credmon_oauth'],
  ['CREDMON_ALLOW_SPECIAL_CHAR_NAMES', 'false'],
  ['SEC_CREDENTIAL_SWEEP_DELAY', '3600'],
  ['CREDD_POLLING_TIMEOUT', '20'],
  ['REQUIRE_LOCAL_CONFIG_FILE', 'true'],
  [
    'LOCAL_CONFIG_DIR_EXCLUDE_REGEXP',
    '^((\\..*)|(.*\\.pl)|(.*\\.py)|(.*\\.sh)|(.*~)|(#.*)|(.*\\.rpmsave)|(.*\\.rpmnew)|(.*\\.dpkg-old)|(.*\\.dpkg-dist)|(.*\\.cfsaved))$',
  ],
]);

/**
 * The metaknobs tokenwarden expands, by `CATEGORY:NAME` upper-cased: what param_info.in's
 * `[$FEATURE.OAUTH]` sets. Other `use` lines are warned about and skipped: none of them sets a knob the
 * credmon reads.
 */
export const METAKNOBS: ReadonlyMap<string, string> = new Map([
  [
    'FEATURE:OAUTH',
    [
      'SEC_CREDENTIAL_DIRECTORY_OAUTH=/var/lib/condor/oauth_credentials',
      'CREDMON_OAUTH_LOG=$(LOG)/CredMonOAuthLog',
      'DAEMON_LIST=$(DAEMON_LIST) CREDMON_OAUTH',
      'AUTO_INCLUDE_CREDD_IN_DAEMON_LIST=True',
      'TRUST_CREDENTIAL_DIRECTORY=True',
    ].join('\n'),
  ],
]);

/** The `use` categories HTCondor has; a `use` of another category is an error there too. */
export const METAKNOB_CATEGORIES: ReadonlySet<string> = new Set(['ROLE', 'FEATURE', 'POLICY', 'SECURITY']);

/**
 * Macros whose value HTCondor detects at run time and that the configuration cannot override
 * (`FULL_HOSTNAME`, `HOSTNAME`, `TILDE`, ...): inserted last, they win over any file.
 */
export const DETECTED_FIXED: ReadonlySet<string> = new Set([
  'FULL_HOSTNAME',
  'HOSTNAME',
  'TILDE',
  'SUBSYSTEM',
  'USERNAME',
  'PID',
  'PPID',
]);
