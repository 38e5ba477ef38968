import { detectMacros, locateCondorConfig } from './locate.js';
import { readCondorConfig } from './read.js';
import { type CredmonOverrides, resolveCredmonConfig } from './resolve.js';
import type { CredmonConfig } from './types.js';

export interface LoadCredmonConfigOptions {
  /** `--condor-config FILE`; else `CONDOR_CONFIG`, else HTCondor's search. */
  condorConfig?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  overrides?: CredmonOverrides;
  /** `--name` (default CREDMON_OAUTH): the subsystem for `<NAME>.<KNOB>` lookups and the `<NAME>_LOG` knob. */
  daemonName?: string | undefined;
  /** Run-time macros (FULL_HOSTNAME, HOSTNAME, TILDE...) instead of the detected ones: for tests. */
  detected?: ReadonlyMap<string, string>;
  /** The search list when neither --condor-config nor CONDOR_CONFIG is given (default HTCondor's). */
  search?: readonly string[];
  /** Where relative include paths start (default the working directory, as HTCondor). */
  cwd?: string;
}

export interface LoadedCredmonConfig {
  config: CredmonConfig;
  /** Each a line naming file:line and knob; for the log, not fatal. */
  warnings: string[];
  /** Every configuration file read, in order. */
  sources: string[];
  /** HTCondor's param() over the same configuration (expanded, trimmed, undefined when unset or empty). */
  param(name: string): string | undefined;
  /** Where a knob was set (`FILE:LINE`, `environment (_CONDOR_X)`), undefined for a default. */
  where(name: string): string | undefined;
}

/**
 * Reads HTCondor's configuration as the credmon started by condor_master reads it and resolves the
 * credmon's settings, before any side effect. Throws CredmonConfigError (code CONFIG_INVALID,
 * `exitCode` 99) with every problem found.
 */
export async function loadCredmonConfig(opts: LoadCredmonConfigOptions): Promise<LoadedCredmonConfig> {
  const daemonName = (opts.daemonName ?? 'CREDMON_OAUTH').toUpperCase();
  const located = await locateCondorConfig({
    cliPath: opts.condorConfig,
    env: opts.env,
    ...(opts.search === undefined ? {} : { search: opts.search }),
  });
  const detected = opts.detected ?? (await detectMacros(daemonName));
  const cfg = await readCondorConfig({
    source: located.source,
    env: opts.env,
    subsystem: daemonName,
    detected,
    ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }),
  });
  const table = cfg.table;
  const { config, warnings } = resolveCredmonConfig(
    { param: cfg.param, where: (n) => table.where(n), names: () => table.names() },
    opts.overrides ?? {},
    { daemonName },
  );
  return {
    config,
    warnings: [...cfg.warnings, ...warnings],
    sources: cfg.sources,
    param: cfg.param,
    where: (n) => table.where(n),
  };
}
