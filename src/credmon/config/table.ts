import { DETECTED_FIXED, PARAM_DEFAULTS } from './builtins.js';
import { type ExpandContext, expandMacros } from './expand.js';

/** One definition: the knob as written, its raw value, and where it was set (`FILE:LINE`, `environment (_CONDOR_X)`). */
export interface MacroEntry {
  name: string;
  raw: string;
  where: string;
}

/**
 * HTCondor's table of macros: names are case-insensitive, the last definition wins, values are kept raw
 * and expanded when read. A name is looked up as `<SUBSYSTEM>.<NAME>`, then `<NAME>` (the subsystem is
 * the daemon name: `CREDMON_OAUTH`, or `--name`), then the run-time detected values, then param_info.in
 * defaults. Detected values such as `FULL_HOSTNAME` win over any file, as in HTCondor.
 */
export class MacroTable {
  private readonly entries = new Map<string, MacroEntry>();
  readonly subsystem: string;
  private readonly detected: ReadonlyMap<string, string>;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(opts: {
    subsystem: string;
    detected: ReadonlyMap<string, string>;
    env: Readonly<Record<string, string | undefined>>;
  }) {
    this.subsystem = opts.subsystem.toUpperCase();
    this.detected = new Map([...opts.detected].map(([k, v]) => [k.toUpperCase(), v]));
    this.env = opts.env;
  }

  set(name: string, raw: string, where: string): void {
    this.entries.set(name.toUpperCase(), { name, raw, where });
  }

  /** The definition a lookup of `name` finds in files and the environment (subsystem-prefixed first), if any. */
  entry(name: string): MacroEntry | undefined {
    const key = name.toUpperCase();
    if (!key.includes('.')) {
      const prefixed = this.entries.get(`${this.subsystem}.${key}`);
      if (prefixed) return prefixed;
    }
    return this.entries.get(key);
  }

  /** The raw value a lookup of `name` finds: detected-and-fixed, then files and environment, then detected, then defaults. */
  raw(name: string): string | undefined {
    const key = name.toUpperCase();
    if (key === 'FULL_HOSTNAME') return this.fullHostname();
    if (DETECTED_FIXED.has(key) && this.detected.has(key)) return this.detected.get(key);
    const e = this.entry(key);
    if (e) return e.raw;
    return this.detected.get(key) ?? PARAM_DEFAULTS.get(key);
  }

  /**
   * The detected host name; when it has no domain, DEFAULT_DOMAIN_NAME (if configured) is appended, as
   * HTCondor does after reading the configuration.
   */
  private fullHostname(): string | undefined {
    const host = this.detected.get('FULL_HOSTNAME');
    if (host === undefined || host.includes('.')) return host;
    const domain = this.entry('DEFAULT_DOMAIN_NAME')?.raw.trim();
    return domain ? `${host}.${domain.replace(/^\./, '')}` : host;
  }

  /** The raw value of `name` itself, never its `<SUBSYSTEM>.` variant (what `SUBSYS.X = $(X) more` refers to). */
  rawUnprefixed(name: string): string | undefined {
    const key = name.toUpperCase();
    return this.entries.get(key)?.raw ?? this.detected.get(key) ?? PARAM_DEFAULTS.get(key);
  }

  /** Where `name`'s value comes from: `FILE:LINE`, `environment (...)`, or undefined for a default or detected value. */
  where(name: string): string | undefined {
    const key = name.toUpperCase();
    if (DETECTED_FIXED.has(key) && this.detected.has(key)) return undefined;
    return this.entry(key)?.where;
  }

  /** True when a file or the environment defines `name` (a default does not count). */
  isSet(name: string): boolean {
    return this.entry(name) !== undefined;
  }

  /** The expansion context: lookups through this table, `$ENV()` from the environment given. */
  context(): ExpandContext {
    return { lookup: (n) => this.raw(n), env: this.env };
  }

  /** `name` fully expanded, surrounding blanks trimmed; undefined when not defined or empty (HTCondor's param()). */
  param(name: string): string | undefined {
    const raw = this.raw(name);
    if (raw === undefined) return undefined;
    const value = expandMacros(raw, this.context(), name).trim();
    return value === '' ? undefined : value;
  }

  /** Every name defined by a file or the environment, as first written (subsystem prefixes included). */
  names(): string[] {
    return [...this.entries.values()].map((e) => e.name);
  }
}
